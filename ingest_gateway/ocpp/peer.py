"""What both versions' charge points share: routing a frame to its handler with the right
CALLERROR, publishing a CALL's records before its CALLRESULT, metrics and logs.

Routing is ``ocpp.ChargePoint``'s (schema validation, snake_case handler arguments,
CALLRESULT from the handler's dataclass), with these changes:

- a frame that is not an OCPP message at all (not JSON, not an array, no id) is answered
  with a CALLERROR of id ``"-1"`` (2.0.1: ``RpcFrameworkError``) instead of silence, so a
  charge point learns why; a frame of an unknown message type number is ignored (OCPP-J 4.1);
- an action the version does not define is ``NotImplemented`` and a defined action the
  gateway does not handle ``NotSupported`` (the OCPP-J meanings; the library has them the
  other way round);
- 1.6 error codes are 1.6's (``FormationViolation``, ``OccurenceConstraintViolation``),
  2.0.1's are 2.0.1's (``FormatViolation``, ``OccurrenceConstraintViolation``);
- a CALLRESULT or CALLERROR from the charge point is ignored (the gateway sends no CALLs).

A handler publishes with :meth:`OcppPeer.publish`, which returns only when Kafka
acknowledged every record (the same promise as HTTP 202) and raises ``InternalError``
(a CALLERROR, nothing acknowledged, safe to retry) when Kafka cannot take them in time.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar, cast

import orjson
from ocpp.exceptions import (
    InternalError,
    NotImplementedError,
    NotSupportedError,
    OCPPError,
    PropertyConstraintViolationError,
)
from ocpp.messages import Call, CallError, MessageType, unpack
from ocpp.routing import on

from ingest_gateway import metrics as gateway_metrics
from ingest_gateway.enqueue import Record
from ingest_gateway.errors import KafkaUnavailable
from ingest_gateway.ocpp import metrics
from ingest_gateway.ocpp.context import DoorContext
from ingest_gateway.ocpp.errors import RpcFrameworkError

log = logging.getLogger("ingest_gateway.ocpp")
# The ocpp package logs every frame at INFO and every CALLERROR with a traceback; the door
# logs its own structured lines instead (OcppDoor silences this logger).
WIRE_LOG = logging.getLogger("ingest_gateway.ocpp.wire")


F = TypeVar("F", bound=Callable[..., Any])


def handles(action: Enum) -> Callable[[F], F]:
    """``ocpp.routing.on`` with its type: mark a method as the handler of ``action``.

    An exception that is not a CALLERROR (a bug) is logged with its traceback here and
    answered as ``InternalError``; the ``ocpp`` package's own logger stays quiet.
    """

    def decorate(handler: F) -> F:
        @functools.wraps(handler)
        async def guarded(self: OcppPeer, *args: Any, **kwargs: Any) -> Any:
            try:
                return await handler(self, *args, **kwargs)
            except OCPPError:
                raise
            except Exception as exc:
                log.exception("OCPP handler failed", extra={"chargePointId": self.id, "action": action.value})
                raise InternalError(details={"cause": type(exc).__name__}) from exc

        return cast(F, on(action)(guarded))

    return decorate


_CODES_1_6 = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
}


class OcppPeer:
    """Mixed into a version's ``ocpp.ChargePoint`` subclass (which supplies ``_ocpp_version``)."""

    protocol: str  # "ocpp1.6" / "ocpp2.0.1"
    actions: type[Enum]  # the version's Action enum
    route_map: dict[str, dict[str, Any]]
    id: str
    _ocpp_version: str

    def __init__(self, charge_point_id: str, connection: Any, context: DoorContext) -> None:
        super().__init__(charge_point_id, connection, logger=WIRE_LOG)  # type: ignore[call-arg]
        self.ctx = context
        self._action = "unknown"
        self._received_ms = 0

    # -- routing -------------------------------------------------------------------------

    async def route_message(self, raw_msg: str) -> None:
        """Answer one frame: a CALLRESULT or a CALLERROR (see the module doc)."""
        self._received_ms = int(time.time() * 1000)
        self._action = "unknown"
        try:
            msg = unpack(raw_msg)
        except PropertyConstraintViolationError:  # an unknown message type number: ignored (OCPP-J 4.1)
            log.info("ignored a frame of an unknown message type", extra={"chargePointId": self.id})
            return
        except OCPPError as error:  # no readable message id: answered with id "-1"
            await self._send_error("-1", error if self._ocpp_version == "1.6" else RpcFrameworkError())
            return
        if msg.message_type_id != MessageType.Call:
            log.info("ignored a reply to a CALL the gateway never sent", extra={"chargePointId": self.id})
            return
        self._action = self._label(msg.action)
        try:
            self._check_action(msg)
            await self._handle_call(msg)  # type: ignore[attr-defined]
        except OCPPError as error:
            await self._send_error(msg.unique_id, error)

    def _label(self, action: Any) -> str:
        """The action as a metric label (bounded: an undefined action is ``unknown``)."""
        try:
            return str(self.actions(action).value)
        except ValueError:
            return "unknown"

    def _check_action(self, msg: Call) -> None:
        if msg.action in self.route_map:
            return
        if self._action == "unknown":
            raise NotImplementedError(
                details={"cause": f"{msg.action!r} is not an OCPP {self._ocpp_version} action"}
            )
        raise NotSupportedError(details={"cause": f"the gateway does not handle {msg.action}"})

    async def _send_error(self, unique_id: str, error: OCPPError) -> None:
        text = CallError(unique_id, error.code, error.description, error.details).to_json()
        await self._send(text)

    async def _send(self, message: str) -> None:
        """Every answer goes out here: count it, log a CALLERROR, map a 1.6 error code, and
        keep a CALLERROR small (the ``ocpp`` package echoes the whole CALL in its details)."""
        if message.startswith("[4"):
            frame = orjson.loads(message)
            if self._ocpp_version == "1.6" and frame[2] in _CODES_1_6:
                frame[2] = _CODES_1_6[frame[2]]
            frame[3] = str(frame[3])[:255]  # 2.0.1's limit on errorDescription
            details = frame[4] if isinstance(frame[4], dict) else {}
            details.pop("ocpp_message", None)
            if isinstance(details.get("cause"), str):
                details["cause"] = details["cause"][:500]
            frame[4] = details
            message = orjson.dumps(frame).decode()
            metrics.CALL_ERRORS.labels(self._ocpp_version, frame[2]).inc()
            metrics.MESSAGES.labels(self._ocpp_version, self._action, "CALLERROR").inc()
            log.warning(
                "CALLERROR",
                extra={
                    "chargePointId": self.id,
                    "action": self._action,
                    "code": frame[2],
                    "details": frame[4],
                },
            )
        else:
            metrics.MESSAGES.labels(self._ocpp_version, self._action, "CALLRESULT").inc()
        await self._connection.send(message)  # type: ignore[attr-defined]

    # -- publishing ----------------------------------------------------------------------

    @property
    def received_ms(self) -> int:
        """When the CALL being handled arrived (ms since the epoch): every record's receivedAt."""
        return self._received_ms

    def clock(self) -> Any:
        """The time rules a reading of the current CALL is judged by."""
        return self.ctx.rules.clock(datetime.fromtimestamp(self._received_ms / 1000, UTC))

    async def publish(self, records: list[Record]) -> None:
        """Return once Kafka acknowledged every record; ``InternalError`` when it could not in time."""
        if not records:
            return
        try:
            await self.ctx.publisher.publish_records(records, self._received_ms)
        except KafkaUnavailable as exc:
            raise InternalError(
                description="Kafka did not take the message in time; nothing was stored, retry it",
                details={"cause": exc.message},
            ) from None
        readings = sum(1 for r in records if r[0] != self.ctx.session_topic)
        if readings:
            gateway_metrics.READINGS_BY("meter").inc(readings)

    @staticmethod
    def now_iso() -> str:
        """The gateway's time as OCPP writes it (UTC, ``Z``)."""
        return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
