"""Daily rollups (views over the hourly rollups since migration 0018) equal the readings
stored, and the fleet ranking is exact over windows of several days (re-mappings inside a
whole day, on midnight, inside the edge hours). Expected values from the readings sent,
in Python."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from analytics_api.app import create_app

from .support import (
    NOW,
    Clock,
    Database,
    Loader,
    Span,
    create_database,
    expected_ranking,
    numeric,
    serve,
    settings_for,
)

DAY0 = datetime(2024, 2, 5, tzinfo=UTC)
DAYS = 4
METERS = ("dm-1", "dm-2", "dm-3", "dm-4")
VEHICLES = ("dv-1", "dv-2", "dv-3")
SWAP = DAY0 + timedelta(days=1, hours=13, minutes=27, seconds=13, microseconds=250_000)
MIDNIGHT = DAY0 + timedelta(days=2)
MAPPINGS = (
    ("dm-1", "dv-1", Span(None, SWAP)),  # swapped inside a whole day
    ("dm-1", "dv-2", Span(SWAP, None)),
    ("dm-2", "dv-2", Span(None, SWAP)),
    ("dm-2", "dv-1", Span(SWAP, None)),
    ("dm-3", "dv-3", Span(None, MIDNIGHT, False, True)),  # up to midnight, inclusive
    ("dm-4", "dv-3", Span(MIDNIGHT, DAY0 + timedelta(days=3, hours=2, minutes=30), False)),  # edge hours
)

Meter = tuple[str, datetime, float, float]
Vehicle = tuple[str, datetime, float, float, float]


def _readings(rng: random.Random) -> tuple[list[Meter], list[Vehicle]]:
    meters: list[Meter] = []
    vehicles: list[Vehicle] = []
    for i in range(DAYS * 24 * 6):  # every 10 minutes, some on midnight exactly, some missing
        base = DAY0 + timedelta(minutes=10 * i)
        for m in METERS:
            if rng.random() < 0.95:
                ts = base if i % 7 == 0 else base + timedelta(seconds=rng.randrange(600))
                meters.append((m, ts, round(rng.uniform(0, 2.5), 3), round(rng.uniform(225, 245), 1)))
        for v in VEHICLES:
            if rng.random() < 0.95:
                ts = base if i % 5 == 0 else base + timedelta(seconds=rng.randrange(600))
                vehicles.append(
                    (
                        v,
                        ts,
                        round(rng.uniform(10, 90), 2),
                        round(rng.uniform(0, 2), 4),
                        round(rng.uniform(20, 40), 2),
                    )
                )
    return meters, vehicles


@pytest.fixture(scope="module")
async def daily(
    pg_admin_url: str,
) -> AsyncIterator[tuple[httpx.AsyncClient, Loader, list[Meter], list[Vehicle]]]:
    """A database of four days, loaded in shuffled batches with late readings, replays
    (other values) and duplicates, and a client of an app on it."""
    db: Database = create_database(pg_admin_url, "analytics_daily")
    loader = Loader(db.admin)
    rng = random.Random(20240205)
    meters, vehicles = _readings(rng)
    order_m, order_v = meters[:], vehicles[:]
    rng.shuffle(order_m)
    rng.shuffle(order_v)
    cut_m, cut_v = len(order_m) * 6 // 10, len(order_v) * 6 // 10
    await loader.readings(order_m[:cut_m], order_v[:cut_v])
    replay_m = [(m, ts, kwh + 100, v) for m, ts, kwh, v in rng.sample(order_m[:cut_m], 100)]
    replay_v = [(v, ts, s, kwh + 100, t) for v, ts, s, kwh, t in rng.sample(order_v[:cut_v], 100)]
    late_m, late_v = order_m[cut_m:], order_v[cut_v:]
    await loader.readings([*late_m[::2], *replay_m], [*late_v[::2], *replay_v])
    await loader.readings([*late_m[1::2], *late_m[:30]], [*late_v[1::2], *late_v[:30]])
    for meter, vehicle, valid in MAPPINGS:
        await loader.mapping(meter, vehicle, valid.literal())
    app = create_app(settings_for(db, fleet_cache_ttl_s=0), clock=Clock(NOW))
    async with serve(app) as client:
        yield client, loader, meters, vehicles


def _day(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def test_daily_rollups_equal_the_readings_stored(
    daily: tuple[httpx.AsyncClient, Loader, list[Meter], list[Vehicle]],
) -> None:
    _, loader, meters, vehicles = daily
    want_m: dict[tuple[str, datetime], list[Meter]] = {}
    for m in meters:
        want_m.setdefault((m[0], _day(m[1])), []).append(m)
    got_m = await loader.execute(
        "SELECT meter_id, day, kwh_consumed_ac, voltage_min, voltage_max, samples FROM meter_daily"
    )
    assert {(m, d): (k, lo, hi, n) for m, d, k, lo, hi, n in got_m} == {
        key: (
            sum((numeric(r[2]) for r in rs), Decimal(0)),
            min(r[3] for r in rs),
            max(r[3] for r in rs),
            len(rs),
        )
        for key, rs in want_m.items()
    }
    want_v: dict[tuple[str, datetime], list[Vehicle]] = {}
    for v in vehicles:
        want_v.setdefault((v[0], _day(v[1])), []).append(v)
    got_v = await loader.execute(
        "SELECT vehicle_id, day, kwh_delivered_dc, battery_temp_sum, soc_min, soc_max, samples"
        " FROM vehicle_daily"
    )
    assert {(v, d): (k, t, lo, hi, n) for v, d, k, t, lo, hi, n in got_v} == {
        key: (
            sum((numeric(r[3]) for r in rs), Decimal(0)),
            sum((numeric(r[4]) for r in rs), Decimal(0)),
            min(r[2] for r in rs),
            max(r[2] for r in rs),
            len(rs),
        )
        for key, rs in want_v.items()
    }


def _hour(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _running(rows: list[tuple[str, datetime, Decimal]]) -> dict[tuple[str, datetime], tuple[Decimal, int]]:
    """Each (device, hour) with readings: the device's energy and readings up to the end of that hour."""
    by_hour: dict[tuple[str, datetime], tuple[Decimal, int]] = {}
    for device, ts, kwh in rows:
        k, n = by_hour.get((device, _hour(ts)), (Decimal(0), 0))
        by_hour[(device, _hour(ts))] = (k + kwh, n + 1)
    running: dict[tuple[str, datetime], tuple[Decimal, int]] = {}
    totals: dict[str, tuple[Decimal, int]] = {}
    for device, hour in sorted(by_hour):
        k, n = by_hour[(device, hour)]
        k0, n0 = totals.get(device, (Decimal(0), 0))
        totals[device] = running[(device, hour)] = (k0 + k, n0 + n)
    return running


async def test_running_totals_equal_the_readings_stored_up_to_each_hour(
    daily: tuple[httpx.AsyncClient, Loader, list[Meter], list[Vehicle]],
) -> None:
    """Loaded out of order (late hours before stored ones, batches spanning hours, replays),
    every hourly row's running totals are the sums of its device's readings up to its end."""
    _, loader, meters, vehicles = daily
    got_m = await loader.execute("SELECT meter_id, hour, kwh_through, samples_through FROM meter_hourly")
    assert {(m, h): (k, n) for m, h, k, n in got_m} == _running(
        [(m, ts, numeric(k)) for m, ts, k, _ in meters]
    )
    got_v = await loader.execute(
        "SELECT vehicle_id, hour, kwh_through, samples_through, battery_temp_through FROM vehicle_hourly"
    )
    assert {(v, h): (k, n) for v, h, k, n, _ in got_v} == _running(
        [(v, ts, numeric(k)) for v, ts, _, k, _ in vehicles]
    )
    temps = _running([(v, ts, numeric(t)) for v, ts, _, _, t in vehicles])
    assert {(v, h): t for v, h, _, _, t in got_v} == {key: t for key, (t, _) in temps.items()}


@pytest.mark.parametrize(
    ("start_h", "end_h"),
    [
        (0, DAYS * 24),  # whole days only
        (5, 3 * 24 + 7),  # edge hours around two whole days (the swap and midnight inside)
        (26, 3 * 24 + 3),  # from inside day 1 to inside day 3: one whole day, the mapping's end in an edge
        (24 + 13, 24 + 15),  # two hours holding the swap
        (47, 49),  # two hours around midnight
    ],
)
async def test_fleet_ranking_over_days_is_exact(
    daily: tuple[httpx.AsyncClient, Loader, list[Meter], list[Vehicle]], start_h: int, end_h: int
) -> None:
    client, _, meters, vehicles = daily
    start, end = DAY0 + timedelta(hours=start_h), DAY0 + timedelta(hours=end_h)
    r = await client.get(
        "/v1/analytics/fleet/efficiency", params={"from": start.isoformat(), "to": end.isoformat()}
    )
    assert r.status_code == 200, r.text
    body = json.loads(r.text, parse_float=Decimal)
    want = expected_ranking(meters, vehicles, VEHICLES, MAPPINGS, start, end)
    assert [v["vehicleId"] for v in body["vehicles"]] == [w["vehicle"] for w in want]
    for got, w in zip(body["vehicles"], want, strict=True):
        assert (got["totalKwhConsumedAc"], got["totalKwhDeliveredDc"]) == (w["ac"], w["dc"])
        assert got["samples"] == {"vehicle": w["dc_n"], "meter": w["ac_n"]}
