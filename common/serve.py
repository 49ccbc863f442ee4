"""Serving a FastAPI app factory with uvicorn, the same way for every HTTP service."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from common.logs import configure


@dataclass(frozen=True)
class Listen:
    """How a service accepts connections: address, TLS, and the slow-client deadline."""

    host: str
    port: int
    header_timeout_s: float = 10.0
    tls_cert_file: str | None = None
    tls_key_file: str | None = None


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on a request's headers.

    uvicorn bounds idle keep-alive connections but not a client that trickles its
    request line and headers: the connection is closed if the headers are not complete
    ``header_timeout_s`` after it opened or after the request began.
    """

    def __init__(self, *args: Any, header_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s = header_timeout_s
        self._headers_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._headers_timer = self.loop.call_later(self.header_timeout_s, self._headers_late)

    def _disarm(self) -> None:
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None

    def _headers_late(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()


def serve(
    factory: str,
    service: str,
    listen: Listen,
    workers: int,
    log_level: str,
    websocket: dict[str, Any] | None = None,
) -> None:
    """Serve ``module:function`` (an app factory) until SIGTERM/SIGINT, with uvloop and httptools;
    HTTPS when a certificate and key are given; ``websocket``: uvicorn's ``ws*`` options."""
    configure(service, log_level)
    protocol = functools.partial(DeadlineProtocol, header_timeout_s=listen.header_timeout_s)
    uvicorn.run(
        factory,
        factory=True,
        host=listen.host,
        port=listen.port,
        workers=workers,
        loop="uvloop",
        http=cast(type[asyncio.Protocol], protocol),
        ssl_certfile=listen.tls_cert_file,
        ssl_keyfile=listen.tls_key_file,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        **(websocket or {}),
    )
