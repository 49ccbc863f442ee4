"""The fleet ranking from running totals (two hourly rows per device): exact for devices
that start, stop or pause inside the window or at its first or last hour, for mappings
that start or end at other hours or inside one, for one-hour windows, and after late
readings have been added to hours before stored ones. Expected values from the readings
sent, in Python."""

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
    Loader,
    MeterRow,
    Span,
    VehicleRow,
    create_database,
    expected_ranking,
    serve,
    settings_for,
)

T0 = datetime(2024, 2, 20, tzinfo=UTC)
HOURS = 13
ACTIVE = {  # device suffix: the hours [0, HOURS) with readings
    "1": set(range(HOURS)),
    "2": set(range(4, 8)),  # starts and stops inside [2, 10)
    "3": set(range(HOURS)) - {2, 9},  # nothing in the first and last hour of [2, 10)
    "4": {0, 1},  # silent through [2, 10)
    "5": {11, 12},  # only after it
}
VEHICLES = tuple(f"gv-{i}" for i in ACTIVE)
SWITCH = T0 + timedelta(hours=5)  # on the hour, inside the window
MID = T0 + timedelta(hours=3, minutes=20)  # inside an hour
MAPPINGS = (
    ("gm-1", "gv-1", Span(None, SWITCH)),
    ("gm-1", "gv-2", Span(SWITCH, None)),
    ("gm-2", "gv-2", Span(None, None)),
    ("gm-3", "gv-3", Span(MID, None)),
    ("gm-4", "gv-4", Span(None, None)),
    ("gm-5", "gv-5", Span(None, SWITCH)),
)


Gaps = tuple[httpx.AsyncClient, list[MeterRow], list[VehicleRow]]


def _readings(rng: random.Random) -> tuple[list[MeterRow], list[VehicleRow]]:
    meters: list[MeterRow] = []
    vehicles: list[VehicleRow] = []
    for suffix, hours in ACTIVE.items():
        for hour in sorted(hours):
            for slot in range(12):  # every 5 minutes, one of them on the hour
                jitter = 0 if slot == 0 else rng.randrange(300)
                ts = T0 + timedelta(hours=hour, minutes=5 * slot, seconds=jitter)
                meters.append((f"gm-{suffix}", ts, round(rng.uniform(0, 2.5), 3), 230.0))
                vehicles.append((f"gv-{suffix}", ts, 50.0, round(rng.uniform(0, 2), 4), 25.0))
    return meters, vehicles


@pytest.fixture(scope="module")
async def gaps(pg_admin_url: str) -> AsyncIterator[Gaps]:
    """Readings loaded newest hours first, then the rest shuffled in small batches (each a
    late hour before stored ones), and a client of an app on them with its cache off."""
    db = create_database(pg_admin_url, "analytics_running")
    loader = Loader(db.admin)
    rng = random.Random(20240220)
    meters, vehicles = _readings(rng)
    late_from = T0 + timedelta(hours=8)
    newest_m = [m for m in meters if m[1] >= late_from]
    await loader.readings(newest_m, [v for v in vehicles if v[1] >= late_from])
    rest_m = [m for m in meters if m[1] < late_from]
    rest_v = [v for v in vehicles if v[1] < late_from]
    rng.shuffle(rest_m)
    rng.shuffle(rest_v)
    for i in range(0, max(len(rest_m), len(rest_v)), 40):
        await loader.readings(rest_m[i : i + 40], rest_v[i : i + 40])
    for meter, vehicle, valid in MAPPINGS:
        await loader.mapping(meter, vehicle, valid.literal())
    app = create_app(settings_for(db, fleet_cache_ttl_s=0), clock=Clock(NOW))
    async with serve(app) as client:
        yield client, meters, vehicles


@pytest.mark.parametrize(
    ("start_h", "end_h"),
    [
        (2, 10),  # devices starting, stopping and pausing inside, gaps at both ends, a switch
        (0, HOURS),  # everything
        (4, 5),  # one hour
        (9, 10),  # one hour where gv-3 has nothing
        (2, 3),  # idem, at the window's start
        (3, 4),  # the hour a mapping starts inside
        (11, HOURS + 2),  # ends after the last reading
        (5, 8),  # starts on the switch
    ],
)
async def test_fleet_ranking_from_running_totals_is_exact(gaps: Gaps, start_h: int, end_h: int) -> None:
    client, meters, vehicles = gaps
    start, end = T0 + timedelta(hours=start_h), T0 + timedelta(hours=end_h)
    r = await client.get(
        "/v1/analytics/fleet/efficiency",
        params={"from": start.isoformat(), "to": end.isoformat(), "limit": 100},
    )
    assert r.status_code == 200, r.text
    body = json.loads(r.text, parse_float=Decimal)
    want = expected_ranking(meters, vehicles, VEHICLES, MAPPINGS, start, end)
    got = [
        {
            "vehicle": v["vehicleId"],
            "dc": v["totalKwhDeliveredDc"],
            "dc_n": v["samples"]["vehicle"],
            "ac": v["totalKwhConsumedAc"],
            "ac_n": v["samples"]["meter"],
        }
        for v in body["vehicles"]
    ]
    assert got == want
    assert body["totalVehicles"] == len(want)
