"""Stored fleet answers (migration 0019, analytics_api.answer_store), on a database of their own.

The retention login computes them; a stored answer is served with exactly the live query's
lines; a late reading or a re-mapping inside a window stops it from being served until the
job recomputes it (the answer then holds the change, checked against sums over the readings
in Python); a batch in flight holds the horizon back until it commits; and the roles may
do only their part."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from prometheus_client import REGISTRY

from analytics_api.answer_store import StorePlan, refresh
from analytics_api.app import create_app
from analytics_api.fleet_answers import MAX_LIMIT, RANKING_QUERY, STORED_QUERY
from consumer.writer import merge_staged
from energy_ingest.logins import ServiceRole, ensure_login
from sql import query

from .support import (
    METER_TYPES,
    Database,
    Loader,
    MeterReading,
    VehicleReading,
    create_database,
    mapped_readings,
    numeric,
    serve,
    settings_for,
)

HOUR = timedelta(hours=1)
DAY0 = datetime(2025, 4, 7, tzinfo=UTC)
MAPPINGS = (("sm-1", "sv-1"), ("sm-2", "sv-2"), ("sm-3", "sv-3"), ("sm-4", "sv-4"))
PLAN = StorePlan(days=1, lengths_h=(24, 25), grace_s=3600, budget_s=120, threshold=0.85)
Meter = MeterReading
Vehicle = VehicleReading


def _readings(minutes: range) -> tuple[list[Meter], list[Vehicle]]:
    return mapped_readings(DAY0, MAPPINGS, minutes, taper=6)


@dataclass
class Stored:
    db: Database
    retention: str
    loader: Loader
    meters: list[Meter]
    vehicles: list[Vehicle]


@pytest.fixture(scope="module")
async def stored(pg_admin_url: str) -> Stored:
    """Two days of readings of four mapped vehicles, and the job's answers of its last day."""
    db = create_database(pg_admin_url, "analytics_stored")
    retention = ensure_login(db.admin, "stored_retention", "retention-pw", ServiceRole.RETENTION)
    loader = Loader(db.admin)
    meters, vehicles = _readings(range(0, 48 * 60, 4))
    await loader.readings(meters, vehicles)
    for m, v in MAPPINGS:
        await loader.mapping(m, v, "[2025-01-01Z,)")
    return Stored(db, retention, loader, meters, vehicles)


async def _refresh(s: Stored) -> Any:
    async with (
        await psycopg.AsyncConnection.connect(s.db.reader, autocommit=True) as read,
        await psycopg.AsyncConnection.connect(s.retention, autocommit=True) as write,
    ):
        return await refresh(read, write, PLAN)


async def _rows(url: str, name: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    params = {"from": start, "to": end, "limit": MAX_LIMIT, "threshold": PLAN.threshold}
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(query(name), params)
        names = [d.name for d in cur.description or ()]
        return [dict(zip(names, r, strict=True)) for r in await cur.fetchall()]


async def _stored_windows(s: Stored) -> list[tuple[datetime, datetime]]:
    rows = await s.loader.execute("SELECT window_start, window_end FROM fleet_answer ORDER BY 2, 1")
    return [(r[0], r[1]) for r in rows]  # type: ignore[misc]


def _expected(meters: list[Meter], vehicles: list[Vehicle], start: datetime, end: datetime) -> dict[str, Any]:
    of_meter = dict(MAPPINGS)
    ac = {v: Decimal(0) for _, v in MAPPINGS}
    dc = {v: Decimal(0) for _, v in MAPPINGS}
    for m, ts, kwh, _ in meters:
        if start <= ts < end:
            ac[of_meter[m]] += numeric(kwh)
    for v, ts, _, kwh, _ in vehicles:
        if start <= ts < end:
            dc[v] += numeric(kwh)
    return {"order": sorted(ac, key=lambda v: (dc[v] / ac[v], v)), "ac": ac, "dc": dc}


async def test_the_job_stores_every_wanted_window_with_the_live_querys_lines(stored: Stored) -> None:
    report = await _refresh(stored)
    newest = DAY0 + 47 * HOUR  # the last hour holding readings
    ends = [newest + 2 * HOUR - i * HOUR for i in range(25)]  # up to the hour after the next
    want = sorted(((e - timedelta(hours=h), e) for e in ends for h in (24, 25)), key=lambda w: (w[1], w[0]))
    assert await _stored_windows(stored) == want
    assert (report.wanted, report.computed, report.left) == (50, 50, 0)
    for start, end in want[::7]:
        live = await _rows(stored.db.reader, RANKING_QUERY, start, end)
        served = await _rows(stored.db.reader, STORED_QUERY, start, end)
        assert served == live, (start, end)
        assert len(live) == 4
    again = await _refresh(stored)  # nothing changed: nothing recomputed
    assert (again.computed, again.left) == (0, 0)


async def _http(db: Database, start: datetime, end: datetime) -> dict[str, Any]:
    app = create_app(settings_for(db, fleet_cache_ttl_s=0))
    async with serve(app) as client:
        resp = await client.get(
            "/v1/analytics/fleet/efficiency", params={"from": start.isoformat(), "to": end.isoformat()}
        )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = json.loads(resp.text, parse_float=Decimal)
    return body


def _served(source: str) -> float:
    return REGISTRY.get_sample_value("analytics_fleet_answers_total", {"source": source}) or 0.0


def _check(body: dict[str, Any], want: dict[str, Any]) -> None:
    assert [v["vehicleId"] for v in body["vehicles"]] == want["order"]
    for got in body["vehicles"]:
        assert got["totalKwhConsumedAc"] == want["ac"][got["vehicleId"]]
        assert got["totalKwhDeliveredDc"] == want["dc"][got["vehicleId"]]


async def test_a_late_reading_stops_the_windows_it_falls_in_until_the_job_recomputes_them(
    stored: Stored,
) -> None:
    await _refresh(stored)
    inside = (DAY0 + 22 * HOUR, DAY0 + 47 * HOUR)  # 25 h, holds the late hour
    outside = (DAY0 + 24 * HOUR, DAY0 + 48 * HOUR)  # 24 h, after it
    kept = await _stored_windows(stored)
    assert inside in kept
    assert outside in kept
    before = _served("stored"), _served("live")
    _check(await _http(stored.db, *inside), _expected(stored.meters, stored.vehicles, *inside))
    assert (_served("stored"), _served("live")) == (before[0] + 1, before[1])

    late_at = DAY0 + timedelta(hours=23, minutes=30, seconds=1)  # not a minute the loader used
    late_m: list[Meter] = [("sm-2", late_at, 40.0, 230.0)]
    late_v: list[Vehicle] = [("sv-3", late_at, 50.0, 7.5, 30.0)]
    await stored.loader.readings(late_m, late_v)
    meters, vehicles = stored.meters + late_m, stored.vehicles + late_v
    assert await _rows(stored.db.reader, STORED_QUERY, *inside) == []  # stale: not served
    assert len(await _rows(stored.db.reader, STORED_QUERY, *outside)) == 4  # untouched: served
    before = _served("stored"), _served("live")
    _check(await _http(stored.db, *inside), _expected(meters, vehicles, *inside))  # the live query
    assert (_served("stored"), _served("live")) == (before[0], before[1] + 1)

    report = await _refresh(stored)
    # every stored window holding hour 23: ending after it and starting at or before it
    touched = [w for w in await _stored_windows(stored) if w[0] <= DAY0 + 23 * HOUR < w[1]]
    assert report.computed == len(touched) > 0
    assert report.pruned >= 2
    assert await stored.loader.execute("SELECT count(*) FROM fleet_change") == [(0,)]
    before = _served("stored"), _served("live")
    _check(await _http(stored.db, *inside), _expected(meters, vehicles, *inside))
    assert (_served("stored"), _served("live")) == (before[0] + 1, before[1])
    stored.meters, stored.vehicles = meters, vehicles


async def test_a_remapping_inside_a_window_stops_it_until_recomputed(stored: Stored) -> None:
    await _refresh(stored)
    window = (DAY0 + 23 * HOUR, DAY0 + 47 * HOUR)
    assert len(await _rows(stored.db.reader, STORED_QUERY, *window)) == 4
    await stored.loader.execute(
        "UPDATE smart_meter_mapping SET valid = tstzrange(lower(valid), %s) WHERE meter_id = 'sm-4'",
        (DAY0 + 40 * HOUR,),
    )
    assert await _rows(stored.db.reader, STORED_QUERY, *window) == []
    await _refresh(stored)
    served = await _rows(stored.db.reader, STORED_QUERY, *window)
    assert served == await _rows(stored.db.reader, RANKING_QUERY, *window)
    ac_sv4 = sum(
        (
            numeric(kwh)
            for m, ts, kwh, _ in stored.meters
            if m == "sm-4" and window[0] <= ts < DAY0 + 40 * HOUR
        ),
        Decimal(0),
    )
    assert {r["vehicle_id"]: r["ac_kwh"] for r in served}["sv-4"] == ac_sv4
    await stored.loader.execute(  # back as it was, for the other tests
        "UPDATE smart_meter_mapping SET valid = tstzrange(lower(valid), NULL) WHERE meter_id = 'sm-4'"
    )
    await _refresh(stored)


async def test_a_batch_in_flight_holds_the_horizon_back_until_it_commits(pg_admin_url: str) -> None:
    """A consumer's merge (merge_meter.sql) holds the horizon: the job's move of the horizon
    past the batch's hour waits for its commit, so the answers computed after it hold the
    batch although the batch, seeing the old horizon, noted nothing."""
    db = create_database(pg_admin_url, "analytics_stored_horizon")
    retention = ensure_login(db.admin, "horizon_retention", "retention-pw", ServiceRole.RETENTION)
    loader = Loader(db.admin)
    await loader.mapping("hm-1", "hv-1", "[2025-01-01Z,)")
    await loader.readings([("hm-1", DAY0 + timedelta(minutes=5), 2.0, 230.0)], [])
    ts = DAY0 + timedelta(minutes=20)
    async with await psycopg.AsyncConnection.connect(db.admin) as batch:
        await batch.execute(query("stage_tables"))
        async with batch.cursor() as cur:
            async with cur.copy(query("copy_stage_meter")) as copy:
                copy.set_types(METER_TYPES)
                await copy.write_row(("hm-1", ts, 3.0, 230.0, ts, 0, 1))
            await merge_staged(cur, "meter")  # not committed
        async with (
            await psycopg.AsyncConnection.connect(db.reader, autocommit=True) as read,
            await psycopg.AsyncConnection.connect(retention, autocommit=True) as write,
        ):
            job = asyncio.create_task(refresh(read, write, PLAN))
            await asyncio.sleep(1.0)
            assert not job.done()  # the horizon's move waits for the batch
            await batch.commit()
            report = await asyncio.wait_for(job, 30)
    assert report.horizon is not None
    assert report.horizon > datetime.now(UTC) - 2 * HOUR
    assert report.computed == report.wanted > 0
    assert await loader.execute("SELECT count(*) FROM fleet_change") == [(0,)]  # nothing noted
    window = (DAY0 - 23 * HOUR, DAY0 + HOUR)
    served = await _rows(db.reader, STORED_QUERY, *window)
    assert [(r["vehicle_id"], r["ac_kwh"]) for r in served] == [("hv-1", Decimal("5.0"))]


async def test_a_batch_behind_the_horizons_move_reads_the_new_horizon_and_notes_its_hours(
    pg_admin_url: str,
) -> None:
    db = create_database(pg_admin_url, "analytics_stored_behind")
    retention = ensure_login(db.admin, "behind_retention", "retention-pw", ServiceRole.RETENTION)
    loader = Loader(db.admin)
    async with await psycopg.AsyncConnection.connect(retention) as job:  # the job's move, by hand
        await job.execute(query("fleet_answer_horizon_lock"))
        await job.execute(query("fleet_answer_horizon"), {"horizon": DAY0 + 24 * HOUR})
        batch = asyncio.create_task(
            loader.readings([("bm-1", DAY0 + timedelta(hours=3, minutes=1), 1.0, 230.0)])
        )
        await asyncio.sleep(0.5)
        assert not batch.done()  # behind the move
        await job.commit()
        await asyncio.wait_for(batch, 10)
    rows = await loader.execute("SELECT lo, hi FROM fleet_change")
    assert rows == [(DAY0 + 3 * HOUR, DAY0 + 4 * HOUR)]  # the new horizon (hour 24) is past it


async def test_a_stuck_batch_holds_the_horizon_for_two_seconds_at_most(pg_admin_url: str) -> None:
    """A batch that does not commit keeps the horizon where it is (no answer past it), and the
    batches behind the job's move wait for the lock timeout only, not for the stuck one."""
    db = create_database(pg_admin_url, "analytics_stored_stuck")
    retention = ensure_login(db.admin, "stuck_retention", "retention-pw", ServiceRole.RETENTION)
    loader = Loader(db.admin)
    await loader.readings([("km-1", DAY0 + timedelta(minutes=5), 2.0, 230.0)], [])
    async with await psycopg.AsyncConnection.connect(db.admin) as stuck:
        await stuck.execute("SELECT fleet_answer_horizon_held()")  # as a batch's merge does
        async with (
            await psycopg.AsyncConnection.connect(db.reader, autocommit=True) as read,
            await psycopg.AsyncConnection.connect(retention, autocommit=True) as write,
        ):
            job = asyncio.create_task(refresh(read, write, PLAN))
            await asyncio.sleep(0.3)  # the job's update waits; a batch arrives behind it
            started = asyncio.get_running_loop().time()
            await loader.readings([("km-1", DAY0 + timedelta(minutes=9), 1.0, 230.0)], [])
            waited = asyncio.get_running_loop().time() - started
            report = await asyncio.wait_for(job, 30)
        await stuck.rollback()
    assert 1.0 < waited < 4.0  # behind the job's update until its lock timeout (2 s)
    assert report.horizon is None  # not moved: nothing stored
    assert (report.wanted, report.computed) == (0, 0)
    assert await loader.execute("SELECT count(*) FROM fleet_answer") == [(0,)]


async def test_each_role_may_do_only_its_part(stored: Stored) -> None:
    with psycopg.connect(stored.db.reader, autocommit=True) as reader:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reader.execute("DELETE FROM fleet_answer")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reader.execute("UPDATE fleet_answer_horizon SET horizon = 'infinity'")
    writer = ensure_login(stored.db.admin, "stored_writer", "writer-pw", ServiceRole.WRITER)
    with psycopg.connect(writer, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE fleet_answer_horizon SET horizon = 'infinity'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM fleet_change")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM fleet_answer")
    with psycopg.connect(stored.retention, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO fleet_change (lo, hi) VALUES (now(), now())")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM vehicle_hourly")
