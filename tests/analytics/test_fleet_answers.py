"""Fleet answers kept warm: the background refresher (pure logic, settable clocks), and over
HTTP on a database of its own: the ranking and the energy tile cut from one answer equal
sums over the readings sent (Python), a window asked less often than the cache keeps an
answer is still answered from one computed before the request, and late readings show up
within ``FLEET_CACHE_TTL_S``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from analytics_api.app import create_app
from analytics_api.fleet_answers import MAX_LIMIT, FleetAnswer, FleetAnswers, FleetTotals

from .support import (
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


class Ticks:
    """A settable monotonic clock and wall clock, moved together."""

    def __init__(self, wall: datetime) -> None:
        self.mono = 1000.0
        self.wall = wall

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)


class Computed:
    """Answers whose ``rows`` say which computation of which window they are."""

    def __init__(self, ticks: Ticks) -> None:
        self.ticks = ticks
        self.calls: list[tuple[datetime, datetime]] = []
        self.lines: list[int] = []

    async def __call__(self, start: datetime, end: datetime, lines: int = 100) -> FleetAnswer:
        self.calls.append((start, end))
        self.lines.append(lines)
        totals = FleetTotals(len(self.calls), 0, 0, Decimal(0), Decimal(0))
        return FleetAnswer(self.ticks.wall, [{"n": len(self.calls)}], totals)


def _answers(ticks: Ticks, compute: Computed, ttl_s: float = 10, warm_for_s: float = 60) -> FleetAnswers:
    return FleetAnswers(
        compute, lambda: ticks.wall, ttl_s=ttl_s, warm_for_s=warm_for_s, monotonic=lambda: ticks.mono
    )


async def test_an_asked_window_is_recomputed_before_it_is_asked_again() -> None:
    ticks = Ticks(datetime(2025, 1, 7, 10, 30, tzinfo=UTC))
    compute = Computed(ticks)
    fleet = _answers(ticks, compute)
    w = (datetime(2025, 1, 5, tzinfo=UTC), datetime(2025, 1, 6, tzinfo=UTC))
    assert (await fleet.get(*w)).rows == [{"n": 1}]
    ticks.advance(4)
    await fleet.refresh_once()  # younger than half the TTL: left alone
    assert len(compute.calls) == 1
    for i in range(2, 8):  # never asked again: kept fresh for warm_for_s (60 s)
        ticks.advance(6)
        await fleet.refresh_once()
        assert len(compute.calls) == i
    answer = await fleet.get(*w)  # 40 s after the first request, longer than the TTL (10 s)
    assert answer.rows == [{"n": 7}]
    assert answer.as_of == ticks.wall
    assert len(compute.calls) == 7  # the request did not compute
    ticks.advance(61)
    await fleet.refresh_once()  # not asked for 61 s: let go
    assert fleet.warm_windows() == []
    assert len(compute.calls) == 7


async def test_a_window_ending_at_the_current_hour_follows_the_clock() -> None:
    ticks = Ticks(datetime(2025, 1, 7, 10, 30, tzinfo=UTC))
    compute = Computed(ticks)
    fleet = _answers(ticks, compute, warm_for_s=3600)
    current = (datetime(2025, 1, 6, 10, tzinfo=UTC), datetime(2025, 1, 7, 11, tzinfo=UTC))
    past = (datetime(2025, 1, 5, tzinfo=UTC), datetime(2025, 1, 6, tzinfo=UTC))
    await fleet.get(*current)
    await fleet.get(*past)
    ticks.advance(29 * 60 + 56)  # 10:59:56: the hour turns within half the TTL (5 s)
    await fleet.refresh_once()
    following = (current[0] + HOUR, current[1] + HOUR)
    assert fleet.warm_windows() == [current, past, following]
    assert compute.calls[-3:] == [current, past, following]
    ticks.advance(5)  # 11:00:01
    await fleet.refresh_once()
    assert fleet.warm_windows() == [past, following]
    calls = len(compute.calls)
    assert (await fleet.get(*following)).rows == [{"n": calls}]  # computed ahead, not by the request
    assert len(compute.calls) == calls


class Partial(Computed):
    """Answers of ``lines`` lines out of 500, complete when all were asked (a stored answer)."""

    async def __call__(self, start: datetime, end: datetime, lines: int = 100) -> FleetAnswer:
        self.calls.append((start, end))
        self.lines.append(lines)
        rows = [{"n": i} for i in range(min(lines, 500))]
        totals = FleetTotals(500, 0, 0, Decimal(0), Decimal(0))
        return FleetAnswer(self.ticks.wall, rows, totals, complete=lines >= 500)


async def test_a_kept_answer_with_fewer_lines_than_asked_is_read_again_whole() -> None:
    ticks = Ticks(datetime(2025, 1, 7, 10, 30, tzinfo=UTC))
    compute = Partial(ticks)
    fleet = _answers(ticks, compute)
    w = (datetime(2025, 1, 5, tzinfo=UTC), datetime(2025, 1, 6, tzinfo=UTC))
    assert len((await fleet.get(*w, 50)).rows) == 50
    assert len((await fleet.get(*w, 30)).rows) == 50  # kept: enough lines
    assert compute.lines == [50]
    whole = await fleet.get(*w, 200)
    assert (len(whole.rows), whole.complete) == (500, True)
    assert compute.lines == [50, MAX_LIMIT]
    assert len((await fleet.get(*w, 400)).rows) == 500  # the whole one is kept now
    assert compute.lines == [50, MAX_LIMIT]


async def test_off_when_the_cache_is_off() -> None:
    ticks = Ticks(datetime(2025, 1, 7, 10, 30, tzinfo=UTC))
    compute = Computed(ticks)
    fleet = _answers(ticks, compute, ttl_s=0)
    w = (datetime(2025, 1, 5, tzinfo=UTC), datetime(2025, 1, 6, tzinfo=UTC))
    await fleet.get(*w)
    await fleet.get(*w)
    fleet.start()
    await fleet.refresh_once()
    await fleet.stop()
    assert fleet.warm_windows() == []
    assert len(compute.calls) == 2


# Over HTTP, on a database of its own.

DAY0 = datetime(2025, 3, 3, tzinfo=UTC)
START, END = DAY0 + timedelta(hours=6), DAY0 + timedelta(hours=36)  # holds one whole UTC day
MAPPINGS = (("wm-1", "wv-1"), ("wm-2", "wv-2"), ("wm-3", "wv-3"))
TTL_S = 1.0
Meter = MeterReading
Vehicle = VehicleReading


def _readings(minutes: range) -> tuple[list[Meter], list[Vehicle]]:
    return mapped_readings(DAY0, MAPPINGS, minutes, taper=5)


def _expected(meters: list[Meter], vehicles: list[Vehicle]) -> dict[str, Any]:
    """Per vehicle AC and DC over [START, END), the ranking's order and the fleet's totals."""
    per = {v: {"ac": Decimal(0), "dc": Decimal(0)} for _, v in MAPPINGS}
    of_meter = dict(MAPPINGS)
    for m, ts, kwh, _ in meters:
        if START <= ts < END:
            per[of_meter[m]]["ac"] += numeric(kwh)
    for v, ts, _, kwh, _ in vehicles:
        if START <= ts < END:
            per[v]["dc"] += numeric(kwh)
    order = sorted(per, key=lambda v: (per[v]["dc"] / per[v]["ac"], v))
    return {
        "order": order,
        "per": per,
        "ac": sum((p["ac"] for p in per.values()), Decimal(0)),
        "dc": sum((p["dc"] for p in per.values()), Decimal(0)),
        "low": sum(1 for p in per.values() if p["dc"] / p["ac"] < Decimal("0.85")),
    }


@pytest.fixture(scope="module")
async def warm(pg_admin_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Loader]]:
    """A database with three mapped vehicles over two days, and a client of an app on it whose
    answer cache keeps answers for ``TTL_S`` (the refresher runs every TTL_S / 4)."""
    db: Database = create_database(pg_admin_url, "analytics_warm")
    loader = Loader(db.admin)
    await loader.readings(*_readings(range(0, 48 * 60, 3)))
    for m, v in MAPPINGS:
        await loader.mapping(m, v, "[2025-01-01Z,)")
    app = create_app(settings_for(db, fleet_cache_ttl_s=TTL_S))
    async with serve(app) as client:
        yield client, loader


async def _both(client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
    params = {"from": START.isoformat(), "to": END.isoformat()}
    ranking, energy = await asyncio.gather(
        client.get("/v1/analytics/fleet/efficiency", params=params),
        client.get("/v1/fleet/energy", params=params),
    )
    assert ranking.status_code == energy.status_code == 200, (ranking.text, energy.text)
    return json.loads(ranking.text, parse_float=Decimal), json.loads(energy.text, parse_float=Decimal)


def _check(ranking: dict[str, Any], energy: dict[str, Any], want: dict[str, Any]) -> None:
    assert [v["vehicleId"] for v in ranking["vehicles"]] == want["order"]
    for got in ranking["vehicles"]:
        assert got["totalKwhConsumedAc"] == want["per"][got["vehicleId"]]["ac"]
        assert got["totalKwhDeliveredDc"] == want["per"][got["vehicleId"]]["dc"]
    assert energy["totalKwhConsumedAc"] == want["ac"]
    assert energy["totalKwhDeliveredDc"] == want["dc"]
    assert (energy["vehicles"], energy["ratedVehicles"]) == (3, 3)
    assert energy["lowEfficiencyVehicles"] == want["low"]
    assert ranking["asOf"] == energy["asOf"]  # one answer


def _as_of(body: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(body["asOf"])


async def test_warm_answers_are_exact_and_late_readings_show_within_the_ttl(
    warm: tuple[httpx.AsyncClient, Loader],
) -> None:
    client, loader = warm
    meters, vehicles = _readings(range(0, 48 * 60, 3))
    want = _expected(meters, vehicles)
    assert 0 < want["low"] < 3
    _check(*await _both(client), want)
    # not asked for three TTLs: the next request is still answered from an answer computed
    # before it was sent (by the refresher), at most TTL_S before
    await asyncio.sleep(3 * TTL_S)
    sent = datetime.now(UTC)
    ranking, energy = await _both(client)
    _check(ranking, energy, want)
    assert sent - timedelta(seconds=TTL_S) <= _as_of(ranking) < sent
    # late readings (inside the window, into hours and a day already rolled up)
    late_m, late_v = _readings(range(1, 48 * 60, 3))
    await loader.readings(late_m, late_v)
    stored = time.monotonic()
    stored_at = datetime.now(UTC)
    want = _expected(meters + late_m, vehicles + late_v)
    while True:
        ranking, energy = await _both(client)
        if _as_of(ranking) > stored_at:
            break
        assert time.monotonic() - stored < TTL_S + 0.5, "no answer newer than the late readings in time"
        await asyncio.sleep(0.05)
    _check(ranking, energy, want)
    assert time.monotonic() - stored <= TTL_S + 0.5
