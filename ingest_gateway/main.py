"""Process entry point of the gateway (also the uvicorn factory for several workers)."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from energy_ingest.logs import configure
from ingest_gateway.app import create_app
from ingest_gateway.settings import GatewaySettings


def app_factory() -> FastAPI:
    """Build the app from the environment (uvicorn ``--factory``)."""
    settings = GatewaySettings()
    configure("gateway", settings.log_level)
    return create_app(settings)


def run(settings: GatewaySettings, workers: int = 1) -> None:
    """Serve until SIGTERM/SIGINT with uvloop and httptools."""
    configure("gateway", settings.log_level)
    uvicorn.run(
        "ingest_gateway.main:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
