"""Process entry point of the gateway (also the uvicorn factory for several workers)."""

from __future__ import annotations

from fastapi import FastAPI

from energy_ingest.logs import configure
from energy_ingest.serve import serve
from ingest_gateway.app import create_app
from ingest_gateway.settings import GatewaySettings


def app_factory() -> FastAPI:
    """Build the app from the environment (uvicorn ``--factory``)."""
    settings = GatewaySettings()
    configure("gateway", settings.log_level)
    return create_app(settings)


def run(settings: GatewaySettings, workers: int = 1) -> None:
    """Serve until SIGTERM/SIGINT."""
    serve(
        "ingest_gateway.main:app_factory",
        "gateway",
        settings.host,
        settings.port,
        workers,
        settings.log_level,
    )
