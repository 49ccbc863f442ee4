"""GET /v1/fleet/summary and GET /v1/analytics/fleet/efficiency."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from analytics_api.app import create_app

from .support import (
    BASE,
    NOW,
    Clock,
    Database,
    Dataset,
    Loader,
    performance,
    serve,
    settings_for,
    vehicles_in,
)


@pytest.fixture(scope="module")
async def fleet_client(fleet_db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app on the fleet database, with status rows relative to NOW."""
    loader = Loader(fleet_db.admin)
    vehicles = [  # id, seconds since received (None: unknown), seconds since reading, kWh, SoC
        ("fv-1", 60, 62, "1.5", 50.0),  # reporting, charging
        ("fv-2", 299, 301, "2.0", 60.0),  # reporting; its newest reading is older than the window
        ("fv-3", 10, 11, "0", 70.0),  # reporting, idle
        ("fv-4", 301, 302, "1.0", 10.0),  # stale
        ("fv-5", None, 40, "1.0", 80.0),  # reporting by the row's update time
        ("fv-6", 3600, 3600, "1.0", 20.0),  # stale
    ]
    for vid, received, age, kwh, soc in vehicles:
        rec = NOW - timedelta(seconds=received) if received is not None else None
        updated = NOW - timedelta(seconds=30 if received is None else received)
        await loader.execute(
            "INSERT INTO vehicle_status"
            " (vehicle_id, ts, soc, kwh_delivered_dc, battery_temp, received_at, updated_at)"
            " VALUES (%s, %s, %s, %s, 30, %s, %s)",
            (vid, NOW - timedelta(seconds=age), soc, Decimal(kwh), rec, updated),
        )
    for mid, heard, seen in (("fm-1", 5, 5), ("fm-2", 1000, 1000), ("fm-3", None, 100)):
        rec = NOW - timedelta(seconds=heard) if heard is not None else None
        await loader.execute(
            "INSERT INTO meter_status (meter_id, ts, kwh_consumed_ac, voltage, received_at, updated_at)"
            " VALUES (%s, %s, 1, 230, %s, %s)",
            (mid, NOW - timedelta(seconds=seen), rec, NOW - timedelta(seconds=seen)),
        )
    async with serve(create_app(settings_for(fleet_db), clock=Clock(NOW))) as c:
        yield c


async def test_fleet_summary(fleet_client: httpx.AsyncClient) -> None:
    body = (await fleet_client.get("/v1/fleet/summary")).json()
    assert body["asOf"] == "2024-03-12T12:00:00Z"
    assert body["reportingWindowSeconds"] == 300
    soc = body["vehicles"].pop("meanSoc")
    assert body["vehicles"] == {"total": 6, "reporting": 4, "charging": 2, "stale": 2, "offline": 1}
    assert math.isclose(soc, (50 + 60 + 70 + 80) / 4)
    assert body["meters"] == {"total": 3, "reporting": 2, "stale": 1, "offline": 1}  # fv-6, fm-2: > 900 s


def _expected_ranking(dataset: Dataset, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = [{"vehicle": v, **performance(dataset, v, start, end)} for v in vehicles_in(dataset, start, end)]
    inf = Decimal("Infinity")
    return sorted(rows, key=lambda r: (r["dc"] / r["ac"] if r["ac"] > 0 else inf, r["vehicle"]))


@pytest.mark.parametrize(
    ("start", "end", "rounded"),
    [
        (BASE, BASE + timedelta(hours=30), (BASE, BASE + timedelta(hours=30))),
        (
            BASE + timedelta(hours=2, minutes=10),
            BASE + timedelta(hours=20, minutes=5),
            (BASE + timedelta(hours=2), BASE + timedelta(hours=21)),
        ),
        (BASE + timedelta(hours=1, seconds=1), BASE + timedelta(hours=1, seconds=2), None),
    ],
)
async def test_fleet_ranking_is_exact_for_whole_hours(
    client: httpx.AsyncClient,
    dataset: Dataset,
    start: datetime,
    end: datetime,
    rounded: tuple[datetime, datetime] | None,
) -> None:
    r = await client.get(
        "/v1/analytics/fleet/efficiency", params={"from": start.isoformat(), "to": end.isoformat()}
    )
    assert r.status_code == 200, r.text
    body = json.loads(r.text, parse_float=Decimal)
    lo, hi = rounded or (BASE + timedelta(hours=1), BASE + timedelta(hours=2))
    assert body["from"] == lo.isoformat().replace("+00:00", "Z")
    assert body["to"] == hi.isoformat().replace("+00:00", "Z")
    assert body["granularity"] == "hour"
    want = _expected_ranking(dataset, lo, hi)
    assert body["totalVehicles"] == len(want)
    assert [v["vehicleId"] for v in body["vehicles"]] == [w["vehicle"] for w in want]
    for got, w in zip(body["vehicles"], want, strict=True):
        assert got["totalKwhConsumedAc"] == w["ac"]
        assert got["totalKwhDeliveredDc"] == w["dc"]
        assert got["samples"] == {"vehicle": w["dc_n"], "meter": w["ac_n"]}
        if w["ac"] > 0:
            assert math.isclose(float(got["efficiencyRatio"]), float(w["dc"] / w["ac"]), rel_tol=1e-12)
        else:
            assert got["efficiencyRatio"] is None
        hours = (hi - lo).total_seconds() / 60
        assert math.isclose(float(got["dataCoverage"]["vehicle"]), w["dc_n"] / hours, rel_tol=1e-9)


async def test_fleet_ranking_limit(client: httpx.AsyncClient, dataset: Dataset) -> None:
    params = {"from": BASE.isoformat(), "to": (BASE + timedelta(hours=30)).isoformat()}
    full = (await client.get("/v1/analytics/fleet/efficiency", params=params)).json()
    top = (await client.get("/v1/analytics/fleet/efficiency", params={**params, "limit": "2"})).json()
    assert top["totalVehicles"] == full["totalVehicles"] == 4
    assert top["vehicles"] == full["vehicles"][:2]
    assert [v["efficiencyRatio"] is None for v in full["vehicles"]] == [False, False, True, True]
