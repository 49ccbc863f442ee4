"""Process entry point of the gateway (also the uvicorn factory for several workers)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from fastapi import FastAPI

from common import gctune
from common.logs import configure
from common.serve import serve
from ingest_gateway.app import create_app
from ingest_gateway.settings import GatewaySettings


def app_factory() -> FastAPI:
    """Build the app from the environment (uvicorn ``--factory``)."""
    settings = GatewaySettings()
    configure("gateway", settings.log_level)
    app = create_app(settings)
    gctune.tune()  # in each worker: its start-up objects are never garbage
    return app


def run(settings: GatewaySettings, workers: int = 1) -> None:
    """Serve until SIGTERM/SIGINT."""
    serve(
        "ingest_gateway.main:app_factory",
        "gateway",
        settings.listen,
        workers,
        settings.log_level,
        websocket=settings.websocket_options(),
    )


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m ingest_gateway [--workers N]``: the image's entry point."""
    parser = argparse.ArgumentParser(prog="python -m ingest_gateway", description=__doc__)
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn worker processes (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    run(GatewaySettings(), workers=args.workers)
