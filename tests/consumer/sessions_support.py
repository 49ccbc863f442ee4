"""Helpers of the session tests: events and readings produced straight to Kafka (as the
gateway's OCPP door publishes them), the stored rows read back, the expected rows in Python."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
from aiokafka import AIOKafkaProducer

from common.kafka import KafkaAccess
from schemas.topics import METER_TOPIC, SESSION_TOPIC, VEHICLE_TOPIC
from tests.support import iso

Record = tuple[str, str, bytes]
"""topic, key, value"""

RANK = {"started": 1, "updated": 2, "ended": 3}
BIT = {"started": 1, "updated": 2, "ended": 4}


@dataclass(frozen=True, slots=True)
class Event:
    """One session event as the gateway publishes it."""

    cp: str
    connector: int
    tx: str
    event: str
    at: datetime
    id_tag: str | None = None
    reason: str | None = None
    protocol: str = "ocpp1.6"

    @property
    def meter_id(self) -> str:
        return f"{self.cp}:{self.connector}"

    def record(self) -> Record:
        body: dict[str, Any] = {
            "type": "session",
            "protocol": self.protocol,
            "chargePointId": self.cp,
            "connectorId": self.connector,
            "meterId": self.meter_id,
            "transactionId": self.tx,
            "event": self.event,
            "timestamp": iso(self.at),
            "receivedAt": int(time.time() * 1000),
        }
        if self.id_tag is not None:
            body["idTag"] = self.id_tag
        if self.reason is not None:
            body["stopReason"] = self.reason
        return SESSION_TOPIC, self.meter_id, json.dumps(body).encode()


def meter_record(meter_id: str, at: datetime, kwh: float, voltage: float = 230.0) -> Record:
    body = {
        "type": "meter",
        "meterId": meter_id,
        "kwhConsumedAc": kwh,
        "voltage": voltage,
        "timestamp": iso(at),
    }
    return METER_TOPIC, meter_id, json.dumps({**body, "receivedAt": int(time.time() * 1000)}).encode()


def vehicle_record(vehicle_id: str, at: datetime, kwh: float) -> Record:
    body = {
        "type": "vehicle",
        "vehicleId": vehicle_id,
        "soc": 50.0,
        "kwhDeliveredDc": kwh,
        "batteryTemp": 30.0,
        "timestamp": iso(at),
        "receivedAt": int(time.time() * 1000),
    }
    return VEHICLE_TOPIC, vehicle_id, json.dumps(body).encode()


async def produce(env: Mapping[str, str], records: Sequence[Record]) -> None:
    """Send the records in order, acknowledged by every in-sync replica."""
    producer = AIOKafkaProducer(**KafkaAccess.admin_from(env).aiokafka_kwargs(), acks="all")
    await producer.start()
    try:
        futures = [await producer.send(t, v, key=k.encode()) for t, k, v in records]
        for f in futures:
            await f
    finally:
        await producer.stop()


def expected_sessions(events: Sequence[Event]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(charge point, transaction) -> (meter, id tag, start, stop, reason, events), the way the
    rules say any order of these events must end: earliest start and stop, best-ranked tag."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for e in events:
        row = out.setdefault(
            (e.cp, e.tx), {"meter": e.meter_id, "tags": [], "starts": [], "stops": [], "bits": 0}
        )
        row["bits"] |= BIT[e.event]
        if e.id_tag is not None:
            row["tags"].append((RANK[e.event], e.id_tag))
        if e.event == "started":
            row["starts"].append(e.at)
        if e.event == "ended":
            row["stops"].append((e.at, e.reason))
    return {
        key: (
            r["meter"],
            min(r["tags"])[1] if r["tags"] else None,
            min(r["starts"]) if r["starts"] else None,
            min(r["stops"])[0] if r["stops"] else None,
            min(r["stops"])[1] if r["stops"] else None,
            r["bits"],
        )
        for key, r in out.items()
    }


def stored_sessions(
    db: psycopg.Connection[tuple[Any, ...]], cp_prefix: str
) -> dict[tuple[str, str], tuple[Any, ...]]:
    rows = db.execute(
        "SELECT charge_point_id, transaction_id, meter_id, id_tag, started_at, stopped_at, stop_reason,"
        " events"
        " FROM charging_sessions WHERE charge_point_id LIKE %s",
        (cp_prefix + "%",),
    ).fetchall()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def stored_ranges(db: psycopg.Connection[tuple[Any, ...]], meter_prefix: str) -> list[tuple[Any, ...]]:
    """(meter, vehicle, lower, upper, bounds, source, transaction) of every mapping row, sorted."""
    rows = db.execute(
        "SELECT m.meter_id, m.vehicle_id, lower(m.valid), upper(m.valid),"
        " (CASE WHEN lower_inc(m.valid) THEN '[' ELSE '(' END)"
        " || (CASE WHEN upper_inc(m.valid) THEN ']' ELSE ')' END),"
        " m.source, c.transaction_id"
        " FROM smart_meter_mapping m LEFT JOIN charging_sessions c ON c.id = m.session_id"
        " WHERE m.meter_id LIKE %s ORDER BY 1, 3 NULLS FIRST",
        (meter_prefix + "%",),
    ).fetchall()
    return [tuple(r) for r in rows]


def kwh(values: Sequence[float]) -> Decimal:
    """The exact sum the database's numeric columns hold of these JSON numbers."""
    return sum((Decimal(repr(v)) for v in values), Decimal(0))


def utc(t: datetime) -> datetime:
    return t.astimezone(UTC)


def register_record(meter_id: str, at: datetime, register_kwh: float) -> Record:
    """A meter reading carrying the lifetime register (no voltage), as the OCPP door sends it."""
    body = {"type": "meter", "meterId": meter_id, "kwhRegisterAc": register_kwh, "timestamp": iso(at)}
    return METER_TOPIC, meter_id, json.dumps({**body, "receivedAt": int(time.time() * 1000)}).encode()


def register_energy(series: dict[datetime, float], start: datetime, stop: datetime) -> Decimal:
    """The energy of (start, stop] by the register rule, from the series sorted by time: each
    reading adds its increase over the previous one, a decrease counts as a reset from zero,
    the first reading adds nothing."""
    total, previous = Decimal(0), None
    for t in sorted(series):
        value = Decimal(repr(series[t]))
        gain = Decimal(0) if previous is None else (value - previous if value >= previous else value)
        if start < t <= stop:
            total += gain
        previous = value
    return total
