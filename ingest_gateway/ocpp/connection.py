"""A Starlette WebSocket as the ``recv()``/``send()`` connection ``ocpp.ChargePoint`` expects,
with the per-connection limits: message rate, idle timeout, text frames only.

The rate is a token bucket per connection. A charge point over it is not answered with
an error (OCPP has none for it): its next message is simply read later, so the socket's
receive buffer fills and TCP slows the sender down; the process never queues its
messages. The frame size and ping/pong are uvicorn's (``OcppSettings.websocket_options``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from starlette.websockets import WebSocket, WebSocketDisconnect

from ingest_gateway.ocpp.errors import ConnectionEnded


class TokenBucket:
    """``rate`` tokens a second up to ``burst``; :meth:`delay` says how long until one is free."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()

    def delay(self) -> float:
        """Take a token if one is free (0.0); else the seconds until one will be (nothing taken)."""
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate


class WebSocketConnection:
    """What ``ocpp.ChargePoint`` reads from and writes to."""

    def __init__(self, websocket: WebSocket, bucket: TokenBucket, idle_timeout_s: float) -> None:
        self._ws = websocket
        self._bucket = bucket
        self._idle_timeout_s = idle_timeout_s

    async def recv(self) -> str:
        """The next text message; :class:`ConnectionEnded` when the connection is over."""
        wait = self._bucket.delay()
        while wait > 0:  # over the rate: read later (TCP pushes back)
            await asyncio.sleep(wait)
            wait = self._bucket.delay()
        try:
            async with asyncio.timeout(self._idle_timeout_s):
                message = await self._ws.receive()
        except TimeoutError:
            await self._close(1001, f"no message for {self._idle_timeout_s:g} s")
            raise ConnectionEnded(1001, "idle") from None
        if message["type"] == "websocket.disconnect":
            raise ConnectionEnded(message.get("code", 1000), message.get("reason") or "disconnected")
        text = message.get("text")
        if text is None:
            await self._close(1003, "OCPP-J frames are text")
            raise ConnectionEnded(1003, "binary frame")
        return str(text)

    async def send(self, message: str) -> None:
        """Send one text message."""
        try:
            await self._ws.send_text(message)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            raise ConnectionEnded(1006, f"send failed: {exc!r}") from None

    async def close(self, code: int, reason: str) -> None:
        """Close from the gateway's side (a replaced connection, shutdown)."""
        await self._close(code, reason)

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(RuntimeError, OSError):  # already closed
            await self._ws.close(code, reason)
