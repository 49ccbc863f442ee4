"""Session events (``telemetry.session.v1``): decoded into the batch, stored in its transaction.

A session event is one step of an OCPP transaction (``schemas.sessions``). The writer
upserts each into its ``charging_sessions`` row (any order of the same events gives the
same row: sql/queries/session_upsert.sql), then recomputes the meter mappings those
sessions derive (sql/queries/session_mapping_derive.sql), all in the batch's transaction,
so the sessions move with the partition's stored offset exactly like readings do.

Locks, always in this order so that no two writers deadlock: the idTags of the batch's
events (``idtag_lock``), then the meters whose mappings are recomputed
(``analytics_mapping_lock``, the lock the admin's mapping writes take). A card registered
concurrently therefore either sees the stored session or is seen by the recomputation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from consumer.batch import Batch, Reject
from consumer.reject_reasons import reject_detail, reject_reason
from schemas.clock import checked
from schemas.codec import KafkaDecoder
from schemas.sessions import SESSION_ADAPTER
from sql import query

# Which event's idTag is kept (lower wins) and the bit each step sets in ``events``.
ID_TAG_RANK = {"started": 1, "updated": 2, "ended": 3}
EVENT_BIT = {"started": 1, "updated": 2, "ended": 4}

Cursor = psycopg.AsyncCursor[tuple[object, ...]]


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One validated session event, as the upsert's parameters."""

    charge_point_id: str
    transaction_id: str
    connector_id: int
    meter_id: str
    protocol: str
    event: str
    id_tag: str | None
    timestamp: datetime
    stop_reason: str | None

    def params(self) -> dict[str, Any]:
        """The bound parameters of sql/queries/session_upsert.sql."""
        return {
            "charge_point_id": self.charge_point_id,
            "transaction_id": self.transaction_id,
            "connector_id": self.connector_id,
            "meter_id": self.meter_id,
            "protocol": self.protocol,
            "id_tag": self.id_tag,
            "id_tag_rank": ID_TAG_RANK[self.event] if self.id_tag is not None else None,
            "started_at": self.timestamp if self.event == "started" else None,
            "stopped_at": self.timestamp if self.event == "ended" else None,
            "stop_reason": self.stop_reason if self.event == "ended" else None,
            "events": EVENT_BIT[self.event],
        }


def add_session(batch: Batch, rec: ConsumerRecord[bytes, bytes], raw: bytes, decode: KafkaDecoder) -> None:
    """Decode one record of the session topic into ``batch`` (a bad one becomes a reject):
    the schema, then the time rules of ``decode`` (the worker's), as the gateway applied them."""
    clock = decode.clock_at(rec.timestamp)
    try:
        event = checked(SESSION_ADAPTER.validate_json(raw), clock, "SessionEvent")
    except ValidationError as exc:
        batch.rejects.append(
            Reject(
                rec.topic,
                rec.partition,
                rec.offset,
                rec.key,
                raw,
                reject_reason(exc, union=False),
                reject_detail(exc, union=False),
            )
        )
        return
    if event.meterId != f"{event.chargePointId}:{event.connectorId}":
        detail = f"meterId {event.meterId!r} is not {event.chargePointId}:{event.connectorId}"
        batch.rejects.append(Reject(rec.topic, rec.partition, rec.offset, rec.key, raw, "invalid", detail))
        return
    batch.sessions.append(
        SessionRow(
            event.chargePointId,
            event.transactionId,
            event.connectorId,
            event.meterId,
            event.protocol,
            event.event,
            event.idTag,
            event.timestamp.astimezone(UTC),
            event.stopReason,
        )
    )


async def _ids(cur: Cursor) -> list[int]:
    return [int(str(r[0])) for r in await cur.fetchall()]


async def store_sessions(cur: Cursor, rows: Sequence[SessionRow]) -> int:
    """Upsert the events and recompute their sessions' derived mappings; returns the
    number of distinct sessions the events touched."""
    for tag in sorted({r.id_tag for r in rows if r.id_tag is not None}):
        await cur.execute(query("idtag_lock"), {"id_tag": tag})
    touched: set[int] = set()
    meters: set[str] = set()
    for row in rows:
        await cur.execute(query("session_upsert"), row.params())
        got = await cur.fetchone()
        if got is not None:
            touched.add(int(str(got[0])))
            meters.add(str(got[1]))
    for meter_id in sorted(meters):
        await cur.execute(query("analytics_mapping_lock"), {"meter_id": meter_id})
    await cur.execute(query("session_scope"), {"ids": sorted(touched)})
    scope = await _ids(cur)
    if scope:
        await cur.execute(query("session_mapping_clear"), {"ids": scope})
        await cur.execute(query("session_mapping_derive"), {"ids": scope})
    return len(touched)
