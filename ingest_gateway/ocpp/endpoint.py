"""The ``/ocpp/{chargePointId}`` WebSocket route: handshake checks, then one ChargePoint per
connection until it ends.

The handshake is refused with a plain HTTP answer (the ASGI ``websocket.http.response``
extension, which uvicorn provides): 400 for a bad charge point id or no OCPP subprotocol
the gateway speaks, 401 for a missing or wrong credential, 503 + Retry-After when the
process already holds ``OCPP_MAX_CONNECTIONS``. A second connection with the id of a
connected charge point replaces the first one (closed with 1000 "replaced"): a charge
point that lost its network reconnects before the gateway noticed the old socket died.
"""

from __future__ import annotations

import logging

import ocpp.messages
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket

from common.verifier import TokenVerifier
from ingest_gateway.ocpp import metrics
from ingest_gateway.ocpp.connection import TokenBucket, WebSocketConnection
from ingest_gateway.ocpp.context import DoorContext
from ingest_gateway.ocpp.errors import ConnectionEnded, HandshakeRefused
from ingest_gateway.ocpp.handshake import authenticate, check_charge_point_id, choose_subprotocol
from ingest_gateway.ocpp.peer import WIRE_LOG, OcppPeer
from ingest_gateway.ocpp.settings import OcppSettings
from ingest_gateway.ocpp.v16 import ChargePoint16
from ingest_gateway.ocpp.v201 import ChargePoint201

log = logging.getLogger("ingest_gateway.ocpp")
PEERS: dict[str, type[OcppPeer]] = {"ocpp1.6": ChargePoint16, "ocpp2.0.1": ChargePoint201}


class OcppDoor:
    """Accepts charge points and keeps the registry of who is connected."""

    def __init__(self, settings: OcppSettings, context: DoorContext, verifier: TokenVerifier | None) -> None:
        self._s = settings
        self._ctx = context
        self._verifier = verifier
        self._live: dict[str, WebSocketConnection] = {}
        WIRE_LOG.setLevel(logging.CRITICAL)  # the door logs what matters itself (peer.py)
        # Validate each frame against its JSON schema inline: the package's default hands every
        # CALL and CALLRESULT to the thread pool, which under the GIL buys no parallelism and
        # cost a third of the gateway's CPU (docs/performance.md, "OCPP beside HTTP"). A frame
        # is at most OCPP_MAX_FRAME_BYTES, so one validation stays short.
        ocpp.messages.ASYNC_VALIDATION = False

    @property
    def connected(self) -> int:
        """How many charge points are connected now."""
        return len(self._live)

    def _admit(self, websocket: WebSocket, charge_point_id: str) -> str:
        check_charge_point_id(charge_point_id)
        subprotocol = choose_subprotocol(websocket.scope.get("subprotocols", []))
        authenticate(websocket.headers.get("authorization"), charge_point_id, self._verifier)
        if charge_point_id not in self._live and len(self._live) >= self._s.ocpp_max_connections:
            raise HandshakeRefused(
                503,
                "too_many_connections",
                f"this gateway process holds {self._s.ocpp_max_connections} charge points; retry later",
                {"Retry-After": "30"},
            )
        return subprotocol

    async def __call__(self, websocket: WebSocket, charge_point_id: str) -> None:
        """Serve one charge point's connection."""
        offered = ",".join(websocket.scope.get("subprotocols", [])) or "none"
        try:
            subprotocol = self._admit(websocket, charge_point_id)
        except HandshakeRefused as refused:
            metrics.CONNECTIONS.labels(offered[:32], refused.code).inc()
            log.info(
                "OCPP handshake refused",
                extra={
                    "chargePointId": charge_point_id[:64],
                    "status": refused.status,
                    "reason": refused.message,
                },
            )
            body = {"error": refused.code, "message": refused.message}
            await websocket.send_denial_response(JSONResponse(body, refused.status, refused.headers))
            return
        await websocket.accept(subprotocol)
        metrics.CONNECTIONS.labels(subprotocol, "accepted").inc()
        bucket = TokenBucket(self._s.ocpp_messages_per_s, self._s.ocpp_message_burst)
        connection = WebSocketConnection(websocket, bucket, self._s.ocpp_idle_timeout_s)
        peer = PEERS[subprotocol](charge_point_id, connection, self._ctx)
        previous = self._live.get(charge_point_id)
        self._live[charge_point_id] = connection
        metrics.CONNECTED.set(len(self._live))
        if previous is not None:
            log.warning("a second connection replaces the first", extra={"chargePointId": charge_point_id})
            # Its reader ends when the close completes (uvicorn drops a silent peer after 10 s).
            await previous.close(1000, "replaced by a new connection of this charge point")
        log.info(
            "charge point connected", extra={"chargePointId": charge_point_id, "subprotocol": subprotocol}
        )
        reason = "closed"
        try:
            await peer.start()  # type: ignore[attr-defined]
        except ConnectionEnded as ended:
            reason = ended.reason if ended.code in (1001, 1003) else "closed"
        finally:
            if self._live.get(charge_point_id) is connection:
                del self._live[charge_point_id]
            metrics.CONNECTED.set(len(self._live))
            metrics.DISCONNECTS.labels(reason).inc()
            log.info("charge point disconnected", extra={"chargePointId": charge_point_id, "reason": reason})
