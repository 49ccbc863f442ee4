"""Which vehicle a charging card (OCPP idTag) belongs to, over time, and the backfill.

Used by ``PUT /v1/idtags/{idTag}``. Rules (docs/sessions.md):

- a card's first registration covers all time, so sessions stored before it (started
  with the then unknown card) map their meters to the vehicle too: the backfill, in the
  same transaction as the registration;
- registering the card to another vehicle closes the open range at the time of the PUT
  and opens ``[now, ∞)``: sessions that started before keep the vehicle the card had at
  their start, sessions that start later map to the new one (history is not rewritten);
- registering it to the vehicle it already has changes nothing (idempotent).

Locks, in the consumer's order (consumer/sessions.py): the card, then the meters of its
sessions, sorted; their session ranges are recomputed around the manual mappings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from schemas.readings import ID_PATTERN
from schemas.sessions import ID_TAG_PATTERN
from sql import query

_ID = re.compile(ID_PATTERN)
_TAG = re.compile(ID_TAG_PATTERN)


class IdTagError(Exception):
    """Base of the card registration errors."""


class InvalidIdTagError(IdTagError, ValueError):
    """A bad card or vehicle id."""


class IdTagConflictError(IdTagError):
    """The change cannot be placed after the card's current range."""


@dataclass(frozen=True, slots=True)
class IdTagRange:
    """One stored range ``[valid_from, valid_to)`` of a card."""

    id_tag: str
    vehicle_id: str
    valid_from: datetime | None
    valid_to: datetime | None
    created_at: datetime

    def contains(self, t: datetime) -> bool:
        """Whether the range is in force at ``t``."""
        started = self.valid_from is None or self.valid_from <= t
        return started and (self.valid_to is None or t < self.valid_to)


@dataclass(frozen=True, slots=True)
class IdTagChange:
    """What :func:`set_idtag` did; ``mapped`` counts the session mapping rows recomputed."""

    current: IdTagRange
    closed: IdTagRange | None
    created: bool
    changed: bool
    sessions: int
    mapped: int


def _range(row: dict[str, Any]) -> IdTagRange:
    return IdTagRange(row["id_tag"], row["vehicle_id"], row["valid_from"], row["valid_to"], row["created_at"])


async def list_idtag(conn: psycopg.AsyncConnection[Any], id_tag: str) -> list[IdTagRange]:
    """A card's ranges, newest first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query("idtag_list"), {"id_tag": id_tag})
        return [_range(r) for r in await cur.fetchall()]


async def _one(cur: psycopg.AsyncCursor[dict[str, Any]]) -> IdTagRange:
    row = await cur.fetchone()
    if row is None:  # the statements always return their row
        raise RuntimeError("idtag statement returned no row")
    return _range(row)


async def set_idtag(
    conn: psycopg.AsyncConnection[Any], id_tag: str, vehicle_id: str, *, now: datetime
) -> IdTagChange:
    """Register ``id_tag`` to ``vehicle_id`` (the module rules) and remap its sessions.

    Runs in its own transaction on a connection of a member of ``energy_mapper``.
    """
    if not _TAG.fullmatch(id_tag):
        raise InvalidIdTagError(f"idTag {id_tag!r} must be 1 to 36 printable ASCII characters")
    if not _ID.fullmatch(vehicle_id):
        raise InvalidIdTagError(f"vehicle id {vehicle_id!r} must be 1 to 64 letters, digits or ._:-")
    at = now.astimezone(UTC)
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query("idtag_lock"), {"id_tag": id_tag})
        await cur.execute(query("idtag_list"), {"id_tag": id_tag})
        ranges = [_range(r) for r in await cur.fetchall()]
        latest = ranges[0] if ranges else None
        params = {"id_tag": id_tag, "vehicle_id": vehicle_id}
        closed = None
        if latest is not None and latest.valid_to is None and latest.vehicle_id == vehicle_id:
            return IdTagChange(latest, None, created=False, changed=False, sessions=0, mapped=0)
        if latest is None:  # the first registration: all time
            await cur.execute(query("idtag_insert"), {**params, "valid_from": None})
        else:
            if latest.valid_from is not None and at <= latest.valid_from:
                raise IdTagConflictError(
                    f"{id_tag} belongs to {latest.vehicle_id} since {latest.valid_from.isoformat()}, "
                    f"not before now ({at.isoformat()})"
                )
            await cur.execute(query("idtag_close"), {"id_tag": id_tag, "valid_to": at})
            closed = await _one(cur)
            await cur.execute(query("idtag_insert"), {**params, "valid_from": at})
        current = await _one(cur)
        await cur.execute(query("idtag_sessions"), {"id_tag": id_tag})
        rows = await cur.fetchall()
        ids = [int(r["id"]) for r in rows]
        for meter_id in sorted({str(r["meter_id"]) for r in rows}):
            await cur.execute(query("analytics_mapping_lock"), {"meter_id": meter_id})
        mapped = 0
        if ids:
            await cur.execute(query("session_mapping_clear"), {"ids": ids})
            await cur.execute(query("session_mapping_derive"), {"ids": ids})
            got = await cur.fetchone()
            mapped = int(got["count"]) if got else 0
        return IdTagChange(
            current, closed, created=latest is None, changed=True, sessions=len(ids), mapped=mapped
        )
