"""Hourly rollups of a closed day rewritten in hour order (migrations 0016 and 0017, the
retention job): the same rows before and after, each hour of the fleet on two or three
pages, a late reading written meanwhile counted once (its running totals too), and only
the retention role may run it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from consumer.batch import Batch, MeterRow, VehicleRow
from consumer.compaction import compact_due
from consumer.writer import BatchWriter
from sql import query
from tests.support import unique

DEVICES = 40
ROWS = "SELECT * FROM {table} WHERE hour >= %s AND hour < %s ORDER BY 1, 2"
PAGES = """
SELECT hour, count(DISTINCT (ctid::text::point)[0])
FROM {table} WHERE hour >= %s AND hour < %s AND {key} LIKE %s GROUP BY 1
"""

LAST_TOTALS = (
    "SELECT kwh_through, samples_through FROM meter_hourly WHERE meter_id = %s ORDER BY hour DESC LIMIT 1"
)


def _start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


async def _write_day(url: str, day: date, prefix: str) -> None:
    """A reading per device and hour, device by device (a backfill, say): each hour of the
    fleet ends up on a page per device."""
    writer = BatchWriter(url, group_id=unique("compaction"))
    offset = iter(range(10**6))
    try:
        for i in range(DEVICES):
            hours = [_start(day) + timedelta(hours=hour, minutes=7) for hour in range(24)]
            meters: list[MeterRow] = [
                (f"{prefix}-m{i:03}", ts, 0.25 + i / 100, 230.0, None, 0, next(offset)) for ts in hours
            ]
            vehicles: list[VehicleRow] = [
                (f"{prefix}-v{i:03}", ts, 50.0, 0.2 + i / 100, 25.0, None, 0, next(offset)) for ts in hours
            ]
            await writer.write(Batch(generation=0, meters=meters, vehicles=vehicles, days={day}))
    finally:
        await writer.close()


def _rows(db: psycopg.Connection[Any], table: str, day: date) -> list[tuple[Any, ...]]:
    lo = _start(day)
    return db.execute(ROWS.format(table=table), (lo, lo + timedelta(days=1))).fetchall()


def _pages(db: psycopg.Connection[Any], table: str, key: str, day: date, prefix: str) -> dict[str, int]:
    lo = _start(day)
    found = db.execute(PAGES.format(table=table, key=key), (lo, lo + timedelta(days=1), f"{prefix}-%"))
    return dict(found.fetchall())


async def test_same_rows_after_and_each_hour_on_three_pages_at_most(stack_env: dict[str, str]) -> None:
    day, prefix = date(2003, 5, 6), unique("cmp")
    await _write_day(stack_env["CONSUMER_DATABASE_URL"], day, prefix)
    with psycopg.connect(stack_env["DATABASE_URL"], autocommit=True) as db:
        before = {t: _rows(db, t, day) for t in ("meter_hourly", "vehicle_hourly")}
        scattered = _pages(db, "meter_hourly", "meter_id", day, prefix)
    assert len(before["meter_hourly"]) == len(before["vehicle_hourly"]) == DEVICES * 24
    assert min(scattered.values()) > 10  # written device by device: a page per device or so

    with psycopg.connect(stack_env["RETENTION_DATABASE_URL"], autocommit=True) as job:
        moved = job.execute(query("compact_rollups"), {"day": day}).fetchone()
        again = job.execute(query("compact_rollups"), {"day": day}).fetchone()
    assert moved == (2 * DEVICES * 24,)
    assert again == (0,)  # once per day

    with psycopg.connect(stack_env["DATABASE_URL"], autocommit=True) as db:
        for table, key in (("meter_hourly", "meter_id"), ("vehicle_hourly", "vehicle_id")):
            assert _rows(db, table, day) == before[table], table
            pages = _pages(db, table, key, day, prefix)
            assert len(pages) == 24
            assert max(pages.values()) <= 3, (table, pages)  # 40 rows, half of each page kept free
        done = db.execute("SELECT meter_rows, vehicle_rows FROM rollup_compactions WHERE day = %s", (day,))
        assert done.fetchone() == (DEVICES * 24, DEVICES * 24)


async def test_a_late_reading_written_during_the_rewrite_counts_once(stack_env: dict[str, str]) -> None:
    day, prefix = date(2003, 6, 7), unique("cmpl")
    await _write_day(stack_env["CONSUMER_DATABASE_URL"], day, prefix)
    meter, hour = f"{prefix}-m001", _start(day) + timedelta(hours=9)
    key = "SELECT kwh_consumed_ac, samples FROM {} WHERE meter_id = %s AND {} = %s"
    with psycopg.connect(stack_env["DATABASE_URL"], autocommit=True) as db:
        hourly0 = db.execute(key.format("meter_hourly", "hour"), (meter, hour)).fetchone()
        last0 = db.execute(LAST_TOTALS, (meter,)).fetchone()
        daily0 = db.execute(key.format("meter_daily", "day"), (meter, _start(day))).fetchone()
        count0 = len(_rows(db, "meter_hourly", day))
    assert hourly0 is not None
    assert daily0 is not None

    late = Batch(
        generation=0, meters=[(meter, hour + timedelta(minutes=41), 1.5, 231.0, None, 0, 10**7)], days={day}
    )
    writer = BatchWriter(stack_env["CONSUMER_DATABASE_URL"], group_id=unique("compaction-late"))
    try:
        async with await psycopg.AsyncConnection.connect(stack_env["DATABASE_URL"]) as rewrite:
            await rewrite.execute("SELECT compact_hourly_rollups(%s)", (day,))  # its transaction stays open
            writing = asyncio.ensure_future(writer.write(late))
            await asyncio.sleep(1.0)
            assert not writing.done()  # waits for the rewrite's row lock
            await rewrite.commit()
        await asyncio.wait_for(writing, 30)
    finally:
        await writer.close()

    with psycopg.connect(stack_env["DATABASE_URL"], autocommit=True) as db:
        hourly = db.execute(key.format("meter_hourly", "hour"), (meter, hour)).fetchone()
        daily = db.execute(key.format("meter_daily", "day"), (meter, _start(day))).fetchone()
        assert hourly == (hourly0[0] + Decimal("1.5"), hourly0[1] + 1)
        assert daily == (daily0[0] + Decimal("1.5"), daily0[1] + 1)
        assert len(_rows(db, "meter_hourly", day)) == count0  # the new row, not a second one
        last = db.execute(LAST_TOTALS, (meter,)).fetchone()  # the later hours' running totals took it
        assert last0 is not None
        assert last == (last0[0] + Decimal("1.5"), last0[1] + 1)


def test_only_closed_days_and_only_the_retention_role(stack_env: dict[str, str]) -> None:
    today = datetime.now(UTC).date()
    with psycopg.connect(stack_env["RETENTION_DATABASE_URL"], autocommit=True) as job:
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="has not ended"):
            job.execute(query("compact_rollups"), {"day": today})
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            job.execute("SELECT count(*) FROM meter_hourly")  # the function only, not the rows
    consumer = psycopg.connect(stack_env["CONSUMER_DATABASE_URL"], autocommit=True)
    denied = pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied for function")
    with consumer, denied:
        consumer.execute(query("compact_rollups"), {"day": date(2003, 5, 6)})


async def test_the_job_compacts_each_closed_day_once_after_its_grace(stack_env: dict[str, str]) -> None:
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    await _write_day(stack_env["CONSUMER_DATABASE_URL"], yesterday, unique("cmpj"))
    with psycopg.connect(stack_env["DATABASE_URL"], autocommit=True) as db:
        db.execute("DELETE FROM rollup_compactions WHERE day >= %s", (yesterday,))
    url = stack_env["RETENTION_DATABASE_URL"]
    assert await compact_due(url, lookback_days=1, grace_s=2 * 86400) == []  # not long enough ago
    assert await compact_due(url, lookback_days=0, grace_s=0) == []  # off
    done = await compact_due(url, lookback_days=1, grace_s=0)
    assert [d for d, _ in done] == [yesterday]
    assert done[0][1] >= 2 * DEVICES * 24
    assert await compact_due(url, lookback_days=1, grace_s=0) == []  # done already


def test_retention_once_compacts_what_is_due(stack_env: dict[str, str]) -> None:
    """``energy-ingest retention --once``: drops nothing (retention off), compacts the due days."""
    today = datetime.now(UTC).date()
    with psycopg.connect(stack_env["DATABASE_URL"], autocommit=True) as db:
        db.execute("DELETE FROM rollup_compactions WHERE day >= %s", (today - timedelta(days=2),))
    env = {
        **os.environ,
        "RETENTION_DATABASE_URL": stack_env["RETENTION_DATABASE_URL"],
        "RETENTION_DAYS": "0",
        "COMPACT_LOOKBACK_DAYS": "2",
        "COMPACT_GRACE_S": "0",
    }

    def once() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "consumer.retention_job", "--once"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return next(line for line in done.stdout.splitlines() if line.startswith("compacted"))

    days = f"{today - timedelta(days=1)} {today - timedelta(days=2)}"
    assert once() == f"compacted the hourly rollups of 2 closed day(s) {days}"
    assert once() == "compacted the hourly rollups of 0 closed day(s)"
