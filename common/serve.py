"""Serving a FastAPI app factory with uvicorn, the same way for every HTTP service."""

from __future__ import annotations

import uvicorn

from common.logs import configure


def serve(factory: str, service: str, host: str, port: int, workers: int, log_level: str) -> None:
    """Serve ``module:function`` (an app factory) until SIGTERM/SIGINT, with uvloop and httptools."""
    configure(service, log_level)
    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
