"""Which vehicle a meter feeds, over time: the one place mapping changes are made.

Used by ``PUT /v1/mappings/meters/{meterId}`` and by ``energy-ingest map-meter``.
Ranges are half-open ``[valid_from, valid_to)``; ``None`` ends are unbounded. Rules:

- a meter's first mapping covers all time, or starts at ``valid_from`` when given;
- re-mapping to another vehicle closes the open range at ``valid_from`` (default: now)
  and opens ``[valid_from, ∞)``; a ``valid_from`` at or before the open range's start
  would rewrite history and is refused (:class:`MappingConflictError`);
- mapping to the vehicle already mapped changes nothing (idempotent).

These rules are about manual ranges only. Ranges derived from OCPP sessions (``source``
``ocpp``, written by the consumer: docs/sessions.md) never overlap a manual one: a manual
change clears the meter's session ranges and recomputes them around the manual ranges in
the same transaction, so the manual mapping wins wherever the two meet.

Concurrent changes of one meter (manual, or the consumer's session ranges) are serialised
by a transaction-scoped advisory lock.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from schemas.readings import ID_PATTERN
from sql import query

_ID = re.compile(ID_PATTERN)


class MappingError(Exception):
    """Base of the mapping errors."""


class InvalidMappingError(MappingError, ValueError):
    """A bad id or a naive time."""


class MappingConflictError(MappingError):
    """The change contradicts the stored ranges (it would rewrite history)."""


@dataclass(frozen=True, slots=True)
class MappingRange:
    """One stored range of a meter."""

    meter_id: str
    vehicle_id: str
    valid_from: datetime | None
    valid_to: datetime | None
    created_at: datetime
    source: str = "manual"
    transaction_id: str | None = None  # of the session an 'ocpp' range derives from

    def contains(self, t: datetime) -> bool:
        """Whether the range is in force at ``t``."""
        started = self.valid_from is None or self.valid_from <= t
        return started and (self.valid_to is None or t < self.valid_to)


@dataclass(frozen=True, slots=True)
class MappingChange:
    """What :func:`set_mapping` did."""

    current: MappingRange
    closed: MappingRange | None
    changed: bool

    def summary(self) -> str:
        """One line for a terminal."""
        c = self.current
        since = c.valid_from.isoformat() if c.valid_from else "the beginning"
        if not self.changed:
            return f"{c.meter_id} already feeds {c.vehicle_id} (since {since}); nothing changed"
        line = f"{c.meter_id} now feeds {c.vehicle_id} from {since}"
        if self.closed is not None:
            line += f"; its mapping to {self.closed.vehicle_id} ends there"
        return line


def _check(meter_id: str, vehicle_id: str, valid_from: datetime | None) -> None:
    for name, value in (("meter id", meter_id), ("vehicle id", vehicle_id)):
        if not _ID.fullmatch(value):
            raise InvalidMappingError(f"{name} {value!r} must be 1 to 64 letters, digits or ._:-")
    if valid_from is not None and valid_from.utcoffset() is None:
        raise InvalidMappingError("valid_from must carry a UTC offset")


def _range(row: dict[str, Any]) -> MappingRange:
    return MappingRange(
        row["meter_id"],
        row["vehicle_id"],
        row["valid_from"],
        row["valid_to"],
        row["created_at"],
        row.get("source", "manual"),
        row.get("transaction_id"),
    )


async def list_mappings(conn: psycopg.AsyncConnection[Any], meter_id: str) -> list[MappingRange]:
    """A meter's ranges, newest first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query("analytics_mapping_list"), {"meter_id": meter_id})
        return [_range(r) for r in await cur.fetchall()]


async def set_mapping(
    conn: psycopg.AsyncConnection[Any],
    meter_id: str,
    vehicle_id: str,
    valid_from: datetime | None,
    *,
    now: datetime | None = None,
) -> MappingChange:
    """Map ``meter_id`` to ``vehicle_id`` from ``valid_from`` (see the module rules).

    Runs in its own transaction (a savepoint if ``conn`` is already in one) on a
    connection of a member of ``energy_mapper``.
    """
    _check(meter_id, vehicle_id, valid_from)
    start = valid_from.astimezone(UTC) if valid_from is not None else None
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query("analytics_mapping_lock"), {"meter_id": meter_id})
        await cur.execute(query("session_ids_of_meter"), {"meter_id": meter_id})
        sessions = [int(r["id"]) for r in await cur.fetchall()]
        if sessions:  # recomputed below, around the manual ranges as they will be
            await cur.execute(query("session_mapping_clear"), {"ids": sessions})
        change = await _apply(cur, meter_id, vehicle_id, start, now)
        if sessions:
            await cur.execute(query("session_mapping_derive"), {"ids": sessions})
        return change


async def _apply(
    cur: psycopg.AsyncCursor[dict[str, Any]],
    meter_id: str,
    vehicle_id: str,
    start: datetime | None,
    now: datetime | None,
) -> MappingChange:
    """The manual change itself (session ranges cleared): the module rules."""
    await cur.execute(query("analytics_mapping_list"), {"meter_id": meter_id})
    ranges = [r for r in map(_range, await cur.fetchall()) if r.source == "manual"]
    latest = ranges[0] if ranges else None
    params = {"meter_id": meter_id, "vehicle_id": vehicle_id}
    if latest is None:  # a first mapping: all time unless told otherwise
        await cur.execute(query("analytics_mapping_insert"), {**params, "valid_from": start})
        return MappingChange(_range(await _one(cur)), None, changed=True)
    at = start or (now or datetime.now(UTC)).astimezone(UTC)
    if latest.valid_to is None and latest.vehicle_id == vehicle_id:
        if start is None or latest.valid_from is None or start >= latest.valid_from:
            return MappingChange(latest, None, changed=False)
        raise MappingConflictError(
            f"{meter_id} already feeds {vehicle_id} since {latest.valid_from.isoformat()}; "
            f"a validFrom of {at.isoformat()} would rewrite earlier history"
        )
    if latest.valid_to is not None:  # every range closed: open a new one after the last
        if at < latest.valid_to:
            raise MappingConflictError(
                f"validFrom {at.isoformat()} is before the end of {meter_id}'s last mapping "
                f"({latest.valid_to.isoformat()})"
            )
        await cur.execute(query("analytics_mapping_insert"), {**params, "valid_from": at})
        return MappingChange(_range(await _one(cur)), None, changed=True)
    if latest.valid_from is not None and at <= latest.valid_from:
        raise MappingConflictError(
            f"validFrom {at.isoformat()} must be after the start of {meter_id}'s current mapping "
            f"to {latest.vehicle_id} ({latest.valid_from.isoformat()}); history is not rewritten"
        )
    await cur.execute(query("analytics_mapping_close"), {"meter_id": meter_id, "valid_to": at})
    closed = _range(await _one(cur))
    await cur.execute(query("analytics_mapping_insert"), {**params, "valid_from": at})
    return MappingChange(_range(await _one(cur)), closed, changed=True)


async def _one(cur: psycopg.AsyncCursor[dict[str, Any]]) -> dict[str, Any]:
    row = await cur.fetchone()
    if row is None:  # the statements above always return their row
        raise RuntimeError("mapping statement returned no row")
    return row


def set_mapping_sync(
    database_url: str, meter_id: str, vehicle_id: str, valid_from: datetime | None = None
) -> MappingChange:
    """:func:`set_mapping` on a fresh connection to ``database_url`` (for the CLI)."""

    async def run() -> MappingChange:
        async with await psycopg.AsyncConnection.connect(
            database_url, autocommit=True, application_name="energy-ingest map-meter"
        ) as conn:
            return await set_mapping(conn, meter_id, vehicle_id, valid_from)

    return asyncio.run(run())
