"""Process entry point of the analytics API (also the uvicorn factory for several workers)."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from analytics_api.app import create_app
from analytics_api.settings import AnalyticsSettings
from energy_ingest.logs import configure


def app_factory() -> FastAPI:
    """Build the app from the environment (uvicorn ``--factory``)."""
    settings = AnalyticsSettings()
    configure("analytics", settings.log_level)
    return create_app(settings)


def run(settings: AnalyticsSettings, workers: int = 1) -> None:
    """Serve until SIGTERM/SIGINT with uvloop and httptools."""
    configure("analytics", settings.log_level)
    uvicorn.run(
        "analytics_api.main:app_factory",
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
