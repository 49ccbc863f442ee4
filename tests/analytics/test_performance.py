"""GET /v1/analytics/performance/{vehicleId}: exact against the readings sent, and fast."""

from __future__ import annotations

import json
import math
import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql as pgsql

from sql import query

from .support import BASE, HOURS, NOW, T_MOVE, Database, Dataset, performance


def _windows() -> list[tuple[datetime, datetime]]:
    rng = random.Random(7)
    found = []
    for i in range(40):
        start = BASE - timedelta(hours=1) + timedelta(microseconds=rng.randrange((HOURS + 1) * 3600 * 10**6))
        if i % 4 == 0:  # inside one hour, or across one hour boundary
            length = timedelta(microseconds=rng.randrange(1, 3600 * 10**6))
        else:
            length = timedelta(microseconds=rng.randrange(3600 * 10**6, 26 * 3600 * 10**6))
        found.append((start, start + length))
    return found


SPECIAL = [
    (BASE, BASE + timedelta(hours=HOURS)),  # all of it, aligned
    (BASE + timedelta(hours=3), BASE + timedelta(hours=4)),  # m-b2's (3h, 4h] exactly
    (BASE + timedelta(hours=4), BASE + timedelta(hours=5)),  # ... and its inclusive end
    (T_MOVE, T_MOVE + timedelta(hours=2)),  # starts at the re-mapping
    (T_MOVE - timedelta(minutes=20), T_MOVE + timedelta(minutes=20)),  # re-mapping mid-window
    (BASE + timedelta(hours=13, minutes=5), BASE + timedelta(hours=13, minutes=6)),
    (BASE - timedelta(days=3), BASE - timedelta(days=2)),  # before any data
]


def exact(response: httpx.Response) -> dict[str, Any]:
    """The body with JSON numbers as decimals (their shortest text), to compare exactly."""
    body: dict[str, Any] = json.loads(response.text, parse_float=Decimal)
    return body


async def check_window(
    client: httpx.AsyncClient, dataset: Dataset, vehicle: str, start: datetime, end: datetime
) -> None:
    params = {"from": start.isoformat(), "to": end.isoformat()}
    r = await client.get(f"/v1/analytics/performance/{vehicle}", params=params)
    assert r.status_code == 200, r.text
    got = exact(r)
    want = performance(dataset, vehicle, start, end)
    where = f"{vehicle} [{start}, {end})"
    assert got["totalKwhDeliveredDc"] == want["dc"], where
    assert got["totalKwhConsumedAc"] == want["ac"], where
    assert got["samples"] == {"vehicle": want["dc_n"], "meter": want["ac_n"]}, where
    assert got["meterIds"] == want["meter_ids"], where
    if want["temp"] is None:
        assert got["avgBatteryTemp"] is None
    else:
        assert math.isclose(got["avgBatteryTemp"], want["temp"], rel_tol=1e-12), where
    if want["ac"] > 0:
        ratio = float(want["dc"] / want["ac"])
        assert math.isclose(float(got["efficiencyRatio"]), ratio, rel_tol=1e-12), where
        assert got["lowEfficiency"] is (ratio < 0.85)
    else:
        assert got["efficiencyRatio"] is None
        assert got["lowEfficiency"] is None
    minutes = (end - start).total_seconds() / 60
    assert math.isclose(got["dataCoverage"]["vehicle"], want["dc_n"] / minutes, rel_tol=1e-9)
    mapped = float(want["mapped_seconds"]) / 60
    if got["dataCoverage"]["meter"] is None:
        assert mapped < 1e-6
    else:
        assert math.isclose(got["dataCoverage"]["meter"], want["ac_n"] / mapped, rel_tol=1e-6, abs_tol=1e-9)
    assert got["from"] == start.isoformat().replace("+00:00", "Z")
    assert got["to"] == end.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(("start", "end"), _windows() + SPECIAL)
async def test_exact_for_window(
    client: httpx.AsyncClient, dataset: Dataset, start: datetime, end: datetime
) -> None:
    for vehicle in dataset.vehicles:
        await check_window(client, dataset, vehicle, start, end)


async def test_sums_are_not_trivial(client: httpx.AsyncClient, dataset: Dataset) -> None:
    """The data set really exercises re-mapping: v-a and v-b both get m-move energy."""
    params = {"from": dataset.start.isoformat(), "to": dataset.end.isoformat()}
    a = (await client.get("/v1/analytics/performance/v-a", params=params)).json()
    b = (await client.get("/v1/analytics/performance/v-b", params=params)).json()
    assert "m-move" in a["meterIds"]
    assert "m-move" in b["meterIds"]
    assert a["samples"]["meter"] > 2000
    assert b["samples"]["meter"] > 1000
    assert a["totalKwhConsumedAc"] > 0
    assert a["totalKwhDeliveredDc"] > 0


async def test_default_window_is_the_last_24_hours(client: httpx.AsyncClient, dataset: Dataset) -> None:
    body = (await client.get("/v1/analytics/performance/v-a")).json()
    assert body["to"] == "2024-03-12T12:00:00Z"
    assert body["from"] == "2024-03-11T12:00:00Z"
    assert NOW.isoformat().startswith("2024-03-12T12:00:00")
    only_from = (
        await client.get("/v1/analytics/performance/v-a", params={"from": "2024-03-12T00:00:00Z"})
    ).json()
    assert only_from["to"] == "2024-03-12T12:00:00Z"
    only_to = (
        await client.get("/v1/analytics/performance/v-a", params={"to": "2024-03-10T12:00:00+02:00"})
    ).json()
    assert only_to["from"] == "2024-03-09T10:00:00Z"


async def test_offsets_and_an_unescaped_plus(client: httpx.AsyncClient, dataset: Dataset) -> None:
    """'+02:00' sent unescaped in a query string arrives as ' 02:00'; both mean the same."""
    url = "/v1/analytics/performance/v-a?from=2024-03-10T12:00:00+02:00&to=2024-03-10T15:30:00%2B02:00"
    body = (await client.get(url)).json()
    assert body["from"] == "2024-03-10T10:00:00Z"
    assert body["to"] == "2024-03-10T13:30:00Z"


async def test_unknown_vehicle_is_404(client: httpx.AsyncClient, dataset: Dataset) -> None:
    r = await client.get("/v1/analytics/performance/v-nobody")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
    assert "v-nobody" in r.json()["message"]


async def test_known_vehicle_without_data_in_window(client: httpx.AsyncClient, dataset: Dataset) -> None:
    r = await client.get(
        "/v1/analytics/performance/v-idle",
        params={"from": "2024-03-10T05:00:00Z", "to": "2024-03-10T06:00:00Z"},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["totalKwhConsumedAc"] == 0
    assert body["efficiencyRatio"] is None
    assert body["avgBatteryTemp"] is None
    assert body["lowEfficiency"] is None
    assert body["dataCoverage"] == {"vehicle": 0.0, "meter": None}
    assert body["meterIds"] == []


def _scans(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan] if "Relation Name" in plan else []
    for child in plan.get("Plans", []):
        found += _scans(child)
    return found


@pytest.mark.parametrize(
    ("start", "end", "raw_minutes"),
    [
        # edges of 20 and 12 minutes, read as they are (m-move's end is T_MOVE, 27 minutes into
        # its hour): 3 * (20 + 12) + (20 + 27)
        (BASE + timedelta(hours=1, minutes=40, seconds=5), BASE + timedelta(hours=27, minutes=12), 143),
        # edges of 55 and 50 minutes: read as their hours' rollups minus the other 5 and 10
        # minutes: 3 * (5 + 10) + (5 + 27)
        (BASE + timedelta(hours=1, minutes=5), BASE + timedelta(hours=27, minutes=50), 77),
    ],
)
async def test_reads_history_only_at_the_edges(
    main_db: Database, dataset: Dataset, start: datetime, end: datetime, raw_minutes: int
) -> None:
    """EXPLAIN ANALYZE: whole hours come from the rollups (two rows per run of them), raw
    rows only from partial hours, and never more than half an hour of them per partial hour."""
    explain = pgsql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) ") + query("analytics_performance")
    async with await psycopg.AsyncConnection.connect(main_db.reader) as conn:
        cur = await conn.execute(explain, {"vehicle_id": "v-a", "from": start, "to": end})
        row = await cur.fetchone()
    assert row is not None
    scans = _scans(row[0][0]["Plan"])
    raw = [s for s in scans if s["Relation Name"].startswith(("meter_telemetry", "vehicle_telemetry"))]
    rollup = [s for s in scans if s["Relation Name"].endswith("_hourly")]
    assert not any(s["Node Type"] == "Seq Scan" for s in raw), raw
    raw_rows = sum(s["Actual Rows"] * s["Actual Loops"] for s in raw)
    rollup_rows = sum(s["Actual Rows"] * s["Actual Loops"] for s in rollup if s["Node Type"] != "Seq Scan")
    # segments: v-a's window, m-a1, m-a2 and m-move, one reading a minute: raw_minutes in
    # all, and a reading on each bound
    assert raw_rows <= raw_minutes + 4 * 2, raw_rows
    # whole hours: two rows per run of them (running totals, migration 0017), however long
    assert rollup
    assert all(s["Actual Rows"] <= 1 for s in rollup), rollup
    assert rollup_rows >= 2 * 4, rollup_rows  # the runs of v-a's window and of its meters' three segments


async def test_edges_are_index_only_scans(main_db: Database, dataset: Dataset) -> None:
    """Migration 0015: the raw tables' keys carry the columns an edge sums, so once a
    partition is vacuumed (its visibility map set) its edge reads never touch the heap."""
    async with await psycopg.AsyncConnection.connect(main_db.admin, autocommit=True) as admin:
        await admin.execute("VACUUM meter_telemetry, vehicle_telemetry")
    start = BASE + timedelta(hours=1, minutes=40, seconds=5)
    end = BASE + timedelta(hours=27, minutes=50)
    explain = pgsql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) ") + query("analytics_performance")
    async with await psycopg.AsyncConnection.connect(main_db.reader) as conn:
        cur = await conn.execute(explain, {"vehicle_id": "v-a", "from": start, "to": end})
        row = await cur.fetchone()
    assert row is not None
    raw = [
        s
        for s in _scans(row[0][0]["Plan"])
        if s["Relation Name"].startswith(("meter_telemetry", "vehicle_telemetry")) and s["Actual Loops"]
    ]
    assert {s["Relation Name"].split("_")[0] for s in raw} == {"meter", "vehicle"}, raw
    assert all(s["Node Type"] == "Index Only Scan" for s in raw), [s["Node Type"] for s in raw]
    assert sum(s["Actual Rows"] * s["Actual Loops"] for s in raw) > 0
    assert sum(s["Heap Fetches"] for s in raw) == 0
