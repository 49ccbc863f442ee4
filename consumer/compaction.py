"""Closed days' hourly rollups rewritten once, in hour order, by the retention job.

A day's hourly rows are updated in place many times while it is open; :func:`compact_due`
has PostgreSQL rewrite each closed UTC day once, in (hour, device) order
(``compact_hourly_rollups``, migrations 0016 and 0017), which leaves the day's rows
without the dead versions of those updates and one hour of every device (the fleet
ranking's first and last rows of a window) on a few hundred pages. A device's run of
hours is read as two rows of its running totals, so per-device order no longer pays
(it made the ranking's hour scans 47-53 ms instead of 3-4). Values never change. One
short connection per check; each day is its own transaction.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import psycopg

from consumer.errors import FatalError, RecoverableError
from sql import query

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def retention_connection(url: str, may_not: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A short autocommit connection of the retention login; a missing right is fatal
    ("this login may not <may_not>"), an unreachable database recoverable."""
    try:
        async with await psycopg.AsyncConnection.connect(
            url, connect_timeout=5, autocommit=True, application_name="energy-retention"
        ) as conn:
            yield conn
    except psycopg.errors.InsufficientPrivilege as exc:
        raise FatalError(f"this login may not {may_not} (make it energy_retention): {exc}") from exc
    except psycopg.OperationalError as exc:
        raise RecoverableError(f"database: {exc}") from exc


async def compact_due(database_url: str, *, lookback_days: int, grace_s: int) -> list[tuple[date, int]]:
    """Compact every closed day of the last ``lookback_days`` not yet compacted (that ended
    ``grace_s`` ago or more), newest first; each day with the rows it moved.

    A day that fails (a deadlock with a consumer's late reading, say) is left for the next
    check; a login without the right is fatal.
    """
    if lookback_days <= 0:
        return []
    done: list[tuple[date, int]] = []
    async with retention_connection(database_url, "compact rollups") as conn:
        cur = await conn.execute(query("compaction_due"), {"lookback": lookback_days, "grace_s": grace_s})
        days = [row[0] for row in await cur.fetchall()]
        for day in days:
            started = time.perf_counter()
            try:
                cur = await conn.execute(query("compact_rollups"), {"day": day})
                row = await cur.fetchone()
            except psycopg.OperationalError as exc:  # deadlock, lock or statement timeout
                log.warning("rollup compaction deferred", extra={"day": str(day), "error": str(exc)})
                continue
            moved = int(row[0]) if row else 0
            seconds = round(time.perf_counter() - started, 2)
            log.info("hourly rollups compacted", extra={"day": str(day), "rows": moved, "seconds": seconds})
            done.append((day, moved))
    return done
