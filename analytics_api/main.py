"""Process entry point of the analytics API (also the uvicorn factory for several workers)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from fastapi import FastAPI

from analytics_api.app import create_app
from analytics_api.settings import AnalyticsSettings
from common.logs import configure
from common.serve import serve


def app_factory() -> FastAPI:
    """Build the app from the environment (uvicorn ``--factory``)."""
    settings = AnalyticsSettings()
    configure("analytics", settings.log_level)
    return create_app(settings)


def run(settings: AnalyticsSettings, workers: int = 1) -> None:
    """Serve until SIGTERM/SIGINT."""
    serve(
        "analytics_api.main:app_factory",
        "analytics",
        settings.listen,
        workers,
        settings.log_level,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m analytics_api [--workers N]``: the image's entry point."""
    parser = argparse.ArgumentParser(prog="python -m analytics_api", description=__doc__)
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn worker processes (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    run(AnalyticsSettings(), workers=args.workers)
