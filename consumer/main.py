"""Entry point of one consumer worker."""

from __future__ import annotations

import asyncio
import logging
import signal

from prometheus_client import start_http_server

from common import gctune
from common.logs import configure
from consumer import logthrottle
from consumer.errors import FatalError
from consumer.settings import ConsumerSettings
from consumer.worker import Worker

log = logging.getLogger(__name__)


async def serve(settings: ConsumerSettings) -> None:
    """Run one worker until SIGTERM/SIGINT."""
    logthrottle.install()
    if settings.metrics_port:
        try:
            start_http_server(settings.metrics_port, addr=settings.metrics_host)
        except OSError as exc:
            raise FatalError(
                f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port} ({exc.strerror}); "
                "each replica needs its own CONSUMER_METRICS_PORT"
            ) from exc
    worker = Worker(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.request_stop)
    await worker.run()


def run(settings: ConsumerSettings) -> int:
    """Blocking entry point; returns the process exit code."""
    gctune.tune()  # a batch holds tens of thousands of objects, none of them in a cycle
    try:
        asyncio.run(serve(settings))
    except FatalError as exc:
        log.critical("consumer halted: %s", exc, extra={"error": exc.__class__.__name__})
        return 3
    return 0


def main() -> int:
    """``python -m consumer``: settings from the environment, JSON logs, exit code 3 when halted."""
    settings = ConsumerSettings()
    configure("consumer", settings.log_level)
    return run(settings)
