"""Process entry point of the analytics API (also the uvicorn factory for several workers)."""

from __future__ import annotations

from fastapi import FastAPI

from analytics_api.app import create_app
from analytics_api.settings import AnalyticsSettings
from energy_ingest.logs import configure
from energy_ingest.serve import serve


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
        settings.host,
        settings.port,
        workers,
        settings.log_level,
    )
