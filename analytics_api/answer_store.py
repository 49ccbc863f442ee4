"""Stored fleet answers (migration 0019), computed ahead by the retention job.

The fleet ranking of 10,000 vehicles is arithmetic over every vehicle (0.15-0.45 s of
PostgreSQL here), and the windows a fleet is asked about are few: the last 24 h or 7 days,
which the API rounds to whole hours (a "last 24 h" asked inside an hour covers 25). Once
per check the job moves the horizon (``FLEET_ANSWER_GRACE_S`` before now, on the hour),
then computes the answer of every window of ``FLEET_ANSWER_LENGTHS_H`` ending at each hour
of the last ``FLEET_ANSWER_DAYS`` before it (and no later than an hour past the newest
rollup), newest first, within ``FLEET_ANSWER_BUDGET_S``. Each answer is computed in one
repeatable-read snapshot and stored with it. An answer whose window has since seen a change
it misses (a late reading, a re-mapping: ``fleet_change``) is recomputed; until then the
API does not serve it (``fleet_answer_stored.sql``) and asks the live query instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from analytics_api.fleet_answers import MAX_LIMIT, RANKING_QUERY
from sql import query

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
LOCK_KEY = "fleet_answer_store"
HORIZON_LOCK_TIMEOUT = "2s"
"""How long the horizon's move waits for batches in flight (a stuck one would hold it and,
behind it, every consumer's next batch)."""
_LINE_COLUMNS = ("vehicle_id", "ac_kwh", "ac_n", "dc_kwh", "dc_n", "mapped_seconds")

Window = tuple[datetime, datetime]
Conn = psycopg.AsyncConnection[Any]


class HorizonNotSeen(Exception):
    """The reader's snapshot does not yet hold the horizon's move (a standby behind)."""


@dataclass(frozen=True, slots=True)
class StorePlan:
    """What the job keeps stored."""

    days: int  # 0: none
    lengths_h: tuple[int, ...]
    grace_s: int
    budget_s: float
    threshold: float


@dataclass(slots=True)
class StoreReport:
    """What one check did."""

    horizon: datetime | None = None
    wanted: int = 0
    computed: int = 0
    left: int = 0  # missing or stale, left for the next check (budget)
    pruned: int = 0
    seconds: float = 0.0


def floor_hour(t: datetime) -> datetime:
    """``t`` down to its hour."""
    return t.replace(minute=0, second=0, microsecond=0)


def wanted_windows(newest: datetime, horizon: datetime, days: int, lengths_h: Sequence[int]) -> list[Window]:
    """Every window of ``lengths_h`` hours ending at an hour of the ``days`` before the last
    end: the horizon, or two hours past the ``newest`` stored hour if that is earlier (a
    window asked inside the hour after the history rounds up to it). Newest end first."""
    last = min(horizon, floor_hour(newest) + 2 * HOUR)
    out = []
    for i in range(days * 24 + 1):
        end = last - i * HOUR
        out += [(end - timedelta(hours=h), end) for h in lengths_h]
    return out


async def _one(conn: Conn, sql_name: str, params: dict[str, Any]) -> Any:
    cur = await conn.execute(query(sql_name), params)
    row = await cur.fetchone()
    return row[0] if row else None


async def _move_horizon(write: Conn, horizon: datetime) -> datetime | None:
    """Move the horizon to ``horizon`` if it is behind: the horizon's lock is taken only then
    (about once an hour), waiting at most ``HORIZON_LOCK_TIMEOUT`` for the batches in flight,
    which those arriving meanwhile wait behind. The horizon in force, moved or not."""
    current: datetime | None = await _one(write, "fleet_answer_horizon_now", {})
    if current is not None and current >= horizon:
        return current
    try:
        async with write.transaction():
            await write.execute(f"SET LOCAL lock_timeout = '{HORIZON_LOCK_TIMEOUT}'")
            await write.execute(query("fleet_answer_horizon_lock"))
            moved: datetime | None = await _one(write, "fleet_answer_horizon", {"horizon": horizon})
    except psycopg.errors.LockNotAvailable:
        log.warning("stored fleet answers: a transaction holds the horizon back; next check")
        return current
    # not moved: another job moved it past ``horizon`` meanwhile
    return moved if moved is not None else await _one(write, "fleet_answer_horizon_now", {})


async def compute_and_store(read: Conn, write: Conn, window: Window, threshold: float) -> int:
    """Rank ``window`` in one repeatable-read snapshot of the reader's connection, then store
    it with that snapshot through the job's; the vehicles ranked."""
    start, end = window
    params: dict[str, Any] = {"from": start, "to": end, "limit": MAX_LIMIT, "threshold": threshold}
    async with read.transaction():  # the snapshot is taken by its first statement
        cur = await read.execute(query("fleet_answer_snapshot"))
        snap, seen = await cur.fetchone() or (None, None)
        if seen is None or seen < end:
            # a batch that saw the old horizon committed before its move, but this (standby's)
            # snapshot may not hold that batch yet
            raise HorizonNotSeen(f"the reader sees the horizon at {seen}, before {end}")
        cur = await read.execute(query(RANKING_QUERY), params)
        names = [d.name for d in cur.description or ()]
        rows = [dict(zip(names, r, strict=True)) for r in await cur.fetchall()]
    first = rows[0] if rows else None
    header: dict[str, Any] = {
        "snap": snap,
        "vehicles": first["total"] if first else 0,
        "rated": first["fleet_rated"] if first else 0,
        "low": first["fleet_low"] if first else 0,
        "ac_kwh": first["fleet_ac_kwh"] if first else Decimal(0),
        "dc_kwh": first["fleet_dc_kwh"] if first else Decimal(0),
    }
    async with write.transaction():
        await write.execute(query("fleet_answer_forget"), params)
        key = (start, end, await _one(write, "fleet_answer_insert", params | header))
        columns = ", ".join(_LINE_COLUMNS)
        async with write.cursor().copy(
            f"COPY fleet_answer_line (window_start, window_end, threshold, rank, {columns}) FROM STDIN"
        ) as copy:
            for rank, r in enumerate(rows, 1):
                await copy.write_row((*key, rank, *(r[c] for c in _LINE_COLUMNS)))
    return int(header["vehicles"])


async def refresh(read: Conn, write: Conn, plan: StorePlan) -> StoreReport:
    """One check of the job: ``read`` an autocommit connection of a reader (on the primary or
    a standby), ``write`` one of the retention login on the primary."""
    report = StoreReport()
    if plan.days <= 0 or not plan.lengths_h:
        return report
    started = time.monotonic()
    if not await _one(write, "fleet_answer_lock", {"key": LOCK_KEY}):
        log.info("stored fleet answers: another job holds the lock; next check")
        return report
    try:
        await read.execute("SET jit = off")
        now: datetime = await _one(write, "fleet_answer_now", {})
        report.horizon = await _move_horizon(write, floor_hour(now - timedelta(seconds=plan.grace_s)))
        newest: datetime | None = await _one(read, "fleet_answer_newest", {})
        threshold = {"threshold": plan.threshold}
        wanted = []
        if newest is not None and report.horizon is not None:
            wanted = wanted_windows(newest, report.horizon, plan.days, plan.lengths_h)
        report.wanted = len(wanted)
        await write.execute(
            query("fleet_answer_drop"),
            threshold | {"starts": [w[0] for w in wanted], "ends": [w[1] for w in wanted]},
        )
        cur = await write.execute(query("fleet_answer_kept"), threshold)
        fresh = {(r[0], r[1]) for r in await cur.fetchall() if not r[2]}
        todo = [w for w in wanted if w not in fresh]
        await read.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
        for window in todo:
            if time.monotonic() - started > plan.budget_s:
                break
            try:
                await compute_and_store(read, write, window, plan.threshold)
            except HorizonNotSeen as exc:
                log.info("stored fleet answers: the reader is behind; next check", extra={"error": str(exc)})
                break
            report.computed += 1
        await read.set_isolation_level(None)
        report.left = len(todo) - report.computed
        cur = await write.execute(query("fleet_change_prune"))
        report.pruned = cur.rowcount
    finally:
        await _one(write, "fleet_answer_unlock", {"key": LOCK_KEY})
    report.seconds = round(time.monotonic() - started, 2)
    return report
