"""Bounds on what one client can hold: the time to send a body, the requests served at once.

:class:`RequestLimits` is a plain ASGI middleware shared by both HTTP services:

- a request whose body has not fully arrived ``read_timeout_s`` after its headers is
  answered 408 and its connection closed (the header deadline is the server's:
  :mod:`common.serve`);
- beyond ``max_concurrent`` requests in progress, a new one is answered 503 with
  ``Retry-After`` before its body is read (uvicorn's own ``limit_concurrency`` answers
  without ``Retry-After``);
- a client that goes away mid-request is counted and logged at INFO, without a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from prometheus_client import Counter
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.deadlines import Deadlines

log = logging.getLogger(__name__)

REFUSED = Counter("http_requests_refused_total", "Requests cut off before the app answered", ["reason"])
DISCONNECTS = Counter("http_client_disconnects_total", "Clients that went away before the answer")
UNLIMITED_PATHS = frozenset({"/healthz", "/metrics"})


class ReadTimeout(Exception):
    """The request body did not arrive within the deadline."""


class RequestLimits:
    """See the module docstring; ``/healthz`` and ``/metrics`` are not counted as load."""

    def __init__(
        self, app: ASGIApp, *, read_timeout_s: float, max_concurrent: int, retry_after_s: int
    ) -> None:
        self.app = app
        self.read_timeout_s = read_timeout_s
        self.max_concurrent = max_concurrent
        self.retry_after_s = retry_after_s
        self.active = 0
        # One timer for every request's body deadline, not one per receive (common.deadlines).
        self._deadlines = Deadlines(read_timeout_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        if self.active >= self.max_concurrent:
            REFUSED.labels("busy").inc()
            message = f"more than {self.max_concurrent} requests in progress; retry later"
            await _answer(send, 503, "overloaded", message, {"retry-after": str(self.retry_after_s)})
            return
        self.active += 1
        started = False
        deadline = self._deadlines.start()

        async def bounded_receive() -> Message:
            if deadline.finished:  # later calls wait for a disconnect: no deadline
                return await receive()
            try:
                message = await deadline.run(receive)
            except TimeoutError:
                raise ReadTimeout from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                deadline.finish()
            return message

        async def noting_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, noting_send)
        except ReadTimeout:
            REFUSED.labels("read_timeout").inc()
            log.info("request body not received within %g s; answered 408", self.read_timeout_s)
            if not started:
                message = f"the request body did not arrive within {self.read_timeout_s:g} s"
                await _answer(send, 408, "request_timeout", message, {"connection": "close"})
        except ClientDisconnect:
            DISCONNECTS.inc()
            log.info("client disconnected before the answer: %s %s", scope.get("method"), scope.get("path"))
        finally:
            deadline.finish()
            self.active -= 1


async def _answer(send: Send, status: int, code: str, message: str, headers: dict[str, str]) -> None:
    await send_json(send, status, {"error": code, "message": message}, headers)


async def send_json(send: Send, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
    """A whole JSON answer straight to ASGI ``send`` (as the apps' orjson responses render it)."""
    content = orjson.dumps(body, option=orjson.OPT_UTC_Z)
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    raw += [(b"content-length", b"%d" % len(content)), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": content})
