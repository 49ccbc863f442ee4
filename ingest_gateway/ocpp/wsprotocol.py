"""uvicorn's sans-I/O ``websockets`` protocol, with a refused handshake marked complete.

uvicorn sends a ``websocket.http.response`` denial (our 400/401/503) correctly but leaves
``handshake_complete`` unset, so when the app returns it logs "ASGI callable returned
without completing handshake." at ERROR for every refused charge point (its wsproto
protocol does not; the fix is uvicorn pull request 3138, not yet released). This subclass
marks the handshake complete once the denial's last body part is sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

if TYPE_CHECKING:
    from uvicorn._types import ASGISendEvent


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """The gateway's WebSocket protocol (``OcppSettings.websocket_options``)."""

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body", False):
            self.handshake_complete = True
