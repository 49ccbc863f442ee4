"""Kafka records of the OCPP door: register readings on the meter topic, session events.

A reading is validated by the same schema and time rules as an HTTP reading
(``schemas.validate_reading_json``); a break of either is a PropertyConstraintViolation
naming the field, and the whole CALL publishes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import orjson
from ocpp.exceptions import PropertyConstraintViolationError
from pydantic import ValidationError

from ingest_gateway.enqueue import Record
from ingest_gateway.ocpp.samples import MeterSample
from schemas import METER_TOPIC, ValidationClock, encode_kafka_value, validate_reading_json
from schemas.clock import checked
from schemas.sessions import SESSION_ADAPTER, SessionEvent
from schemas.topics import SESSION_TOPIC


def _violation(what: str, exc: ValidationError) -> PropertyConstraintViolationError:
    errors = [
        {"field": ".".join(str(p) for p in e["loc"][1:] or e["loc"]), "message": e["msg"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]
    return PropertyConstraintViolationError(details={"cause": f"invalid {what}", "errors": errors})


def reading_records(
    meter_id: str, samples: Iterable[MeterSample], clock: ValidationClock, received_ms: int
) -> list[Record]:
    """One meter-topic record per sample that carries a register value."""
    out: list[Record] = []
    for s in samples:
        if s.kwh is None:
            continue  # a meter value without the register (e.g. only current): nothing to store
        body: dict[str, object] = {
            "type": "meter",
            "meterId": meter_id,
            "kwhRegisterAc": s.kwh,
            "timestamp": s.timestamp,
        }
        if s.voltage is not None:
            body["voltage"] = s.voltage
        try:
            reading = validate_reading_json(orjson.dumps(body), clock)
        except ValidationError as exc:
            raise _violation(f"meter value at {s.timestamp}", exc) from None
        out.append((METER_TOPIC, meter_id.encode(), encode_kafka_value(reading, received_ms)))
    return out


def session_record(
    *,
    protocol: str,
    charge_point_id: str,
    connector_id: int,
    meter_id: str,
    transaction_id: str,
    event: str,
    timestamp: str | datetime,
    received_ms: int,
    clock: ValidationClock,
    id_tag: str | None = None,
    stop_reason: str | None = None,
) -> Record:
    """The session-topic record of one transaction step, keyed by the meter id (its timestamp
    in UTC, under the readings' time rules)."""
    body = {
        "type": "session",
        "protocol": protocol,
        "chargePointId": charge_point_id,
        "connectorId": connector_id,
        "meterId": meter_id,
        "transactionId": transaction_id,
        "event": event,
        "idTag": id_tag,
        "timestamp": timestamp if isinstance(timestamp, str) else timestamp.isoformat(),
        "stopReason": stop_reason,
        "receivedAt": received_ms,
    }
    try:
        parsed: SessionEvent = checked(
            SESSION_ADAPTER.validate_json(orjson.dumps(body)), clock, "SessionEvent"
        )
    except ValidationError as exc:
        raise _violation(f"{event} session event", exc) from None
    return (SESSION_TOPIC, meter_id.encode(), SESSION_ADAPTER.dump_json(parsed, exclude_none=True))
