"""The bench's own view of the database: reset between runs, count, time commits.

Commit times come from PostgreSQL itself: with ``track_commit_timestamp`` on, every
stored row's transaction (its ``xmin``) has a commit time, so the moment each reading
became visible is known exactly, after the fact, without polling the tables at a rate
that would itself load the machine. This is bench-only SQL (it needs the owner's
rights and touches no application path), hence kept here rather than in ``sql/``.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable
from datetime import date

import psycopg
from psycopg import sql

from devstack import Stack

TRUNCATE = sql.SQL(
    "TRUNCATE meter_telemetry, vehicle_telemetry, meter_status, vehicle_status, meter_hourly, vehicle_hourly"
)
COUNT_STORED = sql.SQL(
    "SELECT (SELECT count(*) FROM meter_telemetry) + (SELECT count(*) FROM vehicle_telemetry)"
)
LAST_COMMIT = sql.SQL(
    "SELECT extract(epoch FROM greatest("
    " (SELECT max(pg_xact_commit_timestamp(xmin)) FROM meter_telemetry),"
    " (SELECT max(pg_xact_commit_timestamp(xmin)) FROM vehicle_telemetry)))::float8"
)
VISIBLE_AFTER_MS = sql.SQL(
    "SELECT (extract(epoch FROM pg_xact_commit_timestamp(xmin) - received_at) * 1000)::float8"
    " FROM meter_telemetry WHERE received_at IS NOT NULL"
    " UNION ALL "
    "SELECT (extract(epoch FROM pg_xact_commit_timestamp(xmin) - received_at) * 1000)::float8"
    " FROM vehicle_telemetry WHERE received_at IS NOT NULL"
)
ENSURE_DAYS = sql.SQL("SELECT ensure_day_partitions(%(days)s::date[])")


class DrainTimeout(RuntimeError):
    """The expected rows did not all become visible in time."""

    def __init__(self, expected: int, stored: int, timeout: float) -> None:
        super().__init__(f"{stored} of {expected} rows visible after {timeout:.0f} s")
        self.expected = expected
        self.stored = stored


def wait_for_count(
    read: Callable[[], float],
    expected: float,
    timeout: float,
    what: str,
    on_timeout: Callable[[float], Exception],
    *,
    alive: Callable[[], bool] | None = None,
    every: float = 0.25,
) -> None:
    """Poll ``read()`` until it reaches ``expected``: a ``RuntimeError`` naming ``what`` when
    ``alive()`` says a service died, ``on_timeout(last count)`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while (seen := read()) < expected:
        if alive is not None and not alive():
            raise RuntimeError(f"a service died with {seen:,.0f} of {expected:,.0f} {what}")
        if time.monotonic() >= deadline:
            raise on_timeout(seen)
        time.sleep(every)


class BenchDatabase:
    """Owner-level helpers over the application database (the admin URL)."""

    def __init__(self, admin_url: str) -> None:
        self.url = admin_url

    def _one(self, query: sql.SQL, params: dict[str, object] | None = None) -> object:
        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute(query, params).fetchone()
        return row[0] if row else None

    def enable_commit_timestamps(self, stack: Stack) -> None:
        """Turn ``track_commit_timestamp`` on (it takes a restart of the server)."""
        if self._one(sql.SQL("SHOW track_commit_timestamp")) == "on":
            return
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER SYSTEM SET track_commit_timestamp = on"))
        stack.postgres.restart()
        if self._one(sql.SQL("SHOW track_commit_timestamp")) != "on":
            raise RuntimeError("track_commit_timestamp is still off after a restart")

    def server_version(self) -> str:
        """PostgreSQL's ``server_version``."""
        return str(self._one(sql.SQL("SHOW server_version")))

    def ensure_days(self, days: set[date]) -> None:
        """Create the history partitions of ``days`` up front, outside any timed run."""
        self._one(ENSURE_DAYS, {"days": sorted(days)})

    def truncate(self) -> None:
        """Empty history, status and rollups, so each repetition starts alike."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(TRUNCATE)

    def stored(self) -> int:
        """Rows in both history tables."""
        return int(str(self._one(COUNT_STORED)))

    def wait_stored(
        self, expected: int, timeout: float, every: float = 0.25, alive: Callable[[], bool] | None = None
    ) -> None:
        """Poll until ``expected`` rows are visible; raise :class:`DrainTimeout` if not in time."""
        wait_for_count(
            self.stored,
            expected,
            timeout,
            "rows visible",
            lambda seen: DrainTimeout(expected, int(seen), timeout),
            alive=alive,
            every=every,
        )

    def last_commit_epoch(self) -> float:
        """Unix time of the last commit that stored a history row."""
        value = self._one(LAST_COMMIT)
        if value is None:
            raise RuntimeError("no commit timestamps: is track_commit_timestamp on?")
        return float(str(value))

    def visible_after_ms(self) -> array[float]:
        """For every stored reading: ms from the gateway's receive time to its commit.

        Packed doubles (8 bytes a reading), taken from the result row by row rather than
        as a list of row tuples.
        """
        out: array[float] = array("d")
        with psycopg.connect(self.url, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(VISIBLE_AFTER_MS)
            out.extend(r[0] for r in cur if r[0] is not None)
        return out
