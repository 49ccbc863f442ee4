"""Request metrics and the read-source headers, as a plain ASGI middleware.

Starlette's ``@app.middleware("http")`` (``BaseHTTPMiddleware``) runs the rest of the app in
a task group with memory streams for every request; this one only wraps ``send``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from analytics_api import metrics


class Measured:
    """Counts and times each HTTP request by route, method and status, and adds ``headers()``
    (where the answer was read, and how fresh) to every response."""

    def __init__(self, app: ASGIApp, headers: Callable[[], dict[str, str]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # no answer started: the error handler outside answers 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = self.headers()
                if extra:
                    names = {k.lower().encode("latin-1") for k in extra}
                    kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                    added = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
                    message = {**message, "headers": [*kept, *added]}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            metrics.REQUESTS.labels(path, scope["method"], str(status)).inc()
            metrics.LATENCY.labels(path).observe(time.perf_counter() - started)
