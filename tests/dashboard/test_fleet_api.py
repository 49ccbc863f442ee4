"""The dashboard's data: GET /v1/fleet/energy, GET /v1/vehicles, GET /v1/vehicles/{id}/energy,
against the real database; every expected value is computed here from the rows sent."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from analytics_api.app import create_app
from tests.analytics.support import (
    BASE,
    Clock,
    Database,
    Dataset,
    newest_vehicle_reading,
    performance,
    serve,
    settings_for,
    vehicle_buckets,
    vehicles_in,
)

from .seed import CLOCK, EXTRA

HOUR = timedelta(hours=1)


def _z(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _fleet_truth(ds: Dataset, start: datetime, end: datetime, threshold: float) -> dict[str, Any]:
    lines = [performance(ds, v, start, end) for v in vehicles_in(ds, start, end)]
    rated = [p for p in lines if p["ac"] > 0]
    return {
        "ac": sum((p["ac"] for p in lines), Decimal(0)),
        "dc": sum((p["dc"] for p in lines), Decimal(0)),
        "vehicles": len(lines),
        "rated": len(rated),
        "low": sum(1 for p in rated if float(p["dc"] / p["ac"]) < threshold),
    }


def _ratios(ds: Dataset, start: datetime, end: datetime) -> list[float]:
    lines = [performance(ds, v, start, end) for v in vehicles_in(ds, start, end)]
    return sorted(float(p["dc"] / p["ac"]) for p in lines if p["ac"] > 0)


@pytest.mark.parametrize(
    ("start", "end", "hs", "he"),
    [
        (BASE + timedelta(hours=2, minutes=17), BASE + timedelta(hours=20, seconds=1),
         BASE + 2 * HOUR, BASE + 21 * HOUR),
        (BASE + 6 * HOUR, BASE + 30 * HOUR, BASE + 6 * HOUR, BASE + 30 * HOUR),
        (BASE + 13 * HOUR, BASE + 14 * HOUR, BASE + 13 * HOUR, BASE + 14 * HOUR),  # m-move re-mapped inside
    ],
)  # fmt: skip
async def test_fleet_energy_sums_the_ranking_and_counts_low_efficiency(
    dash_db: Database, dataset: Dataset, start: datetime, end: datetime, hs: datetime, he: datetime
) -> None:
    ratios = _ratios(dataset, hs, he)
    assert len(ratios) >= 2
    # below every ratio, between the two lowest, above every ratio: 0, 1, all flagged
    for threshold, flagged in (
        (ratios[0] / 2, 0),
        ((ratios[0] + ratios[1]) / 2, 1),
        (ratios[-1] * 2, len(ratios)),
    ):
        app = create_app(settings_for(dash_db, low_efficiency_threshold=threshold), clock=Clock(CLOCK))
        async with serve(app) as c:
            r = await c.get("/v1/fleet/energy", params={"from": _z(start), "to": _z(end)})
        assert r.status_code == 200, r.text
        body = r.json()
        truth = _fleet_truth(dataset, hs, he, threshold)
        assert (body["from"], body["to"], body["granularity"]) == (_z(hs), _z(he), "hour")
        assert Decimal(str(body["totalKwhConsumedAc"])) == truth["ac"]
        assert Decimal(str(body["totalKwhDeliveredDc"])) == truth["dc"]
        assert body["efficiencyRatio"] == pytest.approx(float(truth["dc"] / truth["ac"]))
        assert (body["vehicles"], body["ratedVehicles"]) == (truth["vehicles"], truth["rated"])
        assert body["lowEfficiencyVehicles"] == truth["low"] == flagged
        assert body["lowEfficiencyThreshold"] == threshold


async def test_fleet_energy_defaults_to_the_last_24_hours(
    client: httpx.AsyncClient, dataset: Dataset
) -> None:
    body = (await client.get("/v1/fleet/energy")).json()
    truth = _fleet_truth(dataset, CLOCK - 24 * HOUR, CLOCK, 0.85)
    assert (body["from"], body["to"]) == (_z(CLOCK - 24 * HOUR), _z(CLOCK))
    assert Decimal(str(body["totalKwhConsumedAc"])) == truth["ac"]
    assert body["lowEfficiencyVehicles"] == truth["low"]


def _listed(ds: Dataset) -> dict[str, dict[str, Any]]:
    """Every vehicle with a status row: SoC, seconds silent at CLOCK, reading age, kWh."""
    out: dict[str, dict[str, Any]] = {}
    for v in ds.vehicle_readings:
        n = newest_vehicle_reading(ds, v)
        silent = (CLOCK - n["received_at"]).total_seconds()
        out[v] = {
            "soc": n["soc"],
            "silent": silent,
            "age": (CLOCK - n["ts"]).total_seconds(),
            "kwh": n["kwh_delivered_dc"],
        }
    for e in EXTRA:
        out[e.vehicle_id] = {"soc": e.soc, "silent": float(e.silent_s), "age": e.silent_s + 1.0, "kwh": e.kwh}
    return out  # fmt: skip


def _status(v: dict[str, Any]) -> str:
    if v["silent"] > 900:
        return "offline"
    if v["silent"] > 300:
        return "stale"
    return "charging" if v["age"] <= 300 and v["kwh"] > 0 else "idle"


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("vehicleId", lambda i, v: i),
        ("-vehicleId", None),
        ("soc", lambda i, v: (v["soc"], i)),
        ("-soc", lambda i, v: (-v["soc"], i)),
        ("lastSeen", lambda i, v: (-v["silent"], i)),
        ("-lastSeen", lambda i, v: (v["silent"], i)),
    ],
)
async def test_vehicle_list_sorts_and_pages(
    client: httpx.AsyncClient, dataset: Dataset, sort: str, key: Any
) -> None:
    fleet = _listed(dataset)
    order = sorted(fleet, reverse=True) if key is None else sorted(fleet, key=lambda i: key(i, fleet[i]))
    seen: list[str] = []
    for offset in range(0, len(order), 10):
        r = await client.get("/v1/vehicles", params={"sort": sort, "limit": 10, "offset": offset})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["total"], body["sort"], body["offset"]) == (len(fleet), sort, offset)
        seen += [v["vehicleId"] for v in body["vehicles"]]
    assert seen == order
    assert len(order) == 33


async def test_vehicle_list_rows(client: httpx.AsyncClient, dataset: Dataset) -> None:
    body = (await client.get("/v1/vehicles", params={"limit": 500})).json()
    fleet = _listed(dataset)
    assert (body["from"], body["to"], body["asOf"]) == (_z(CLOCK - 24 * HOUR), _z(CLOCK), _z(CLOCK))
    statuses = set()
    for row in body["vehicles"]:
        truth = fleet[row["vehicleId"]]
        statuses.add(row["status"])
        assert row["status"] == _status(truth), row
        assert row["offline"] == (truth["silent"] > 900)
        assert row["soc"] == truth["soc"]
        assert row["secondsSilent"] == pytest.approx(truth["silent"])
        p = performance(dataset, row["vehicleId"], CLOCK - 24 * HOUR, CLOCK)
        assert Decimal(str(row["totalKwhConsumedAc"])) == p["ac"]
        assert Decimal(str(row["totalKwhDeliveredDc"])) == p["dc"]
        ratio = float(p["dc"] / p["ac"]) if p["ac"] > 0 else None
        assert row["efficiencyRatio"] == (pytest.approx(ratio) if ratio is not None else None)
        assert row["lowEfficiency"] == (None if ratio is None else ratio < 0.85)
    assert statuses == {"charging", "idle", "stale", "offline"}
    assert any(r["efficiencyRatio"] is not None for r in body["vehicles"])


@pytest.mark.parametrize("sort", ["soc; DROP TABLE vehicle_status", "battery_temp", "SOC"])
async def test_vehicle_list_refuses_sort_keys_off_the_whitelist(client: httpx.AsyncClient, sort: str) -> None:
    r = await client.get("/v1/vehicles", params={"sort": sort})
    assert r.status_code == 422
    assert r.json()["parameter"] == "sort"


@pytest.mark.parametrize("vehicle", ["v-a", "v-b", "v-solo"])
async def test_vehicle_energy_per_hour(client: httpx.AsyncClient, dataset: Dataset, vehicle: str) -> None:
    start, end = BASE + timedelta(hours=1, minutes=30), BASE + 21 * HOUR
    r = await client.get(f"/v1/vehicles/{vehicle}/energy", params={"from": _z(start), "to": _z(end)})
    assert r.status_code == 200, r.text
    body = r.json()
    hs = BASE + HOUR
    hours = [hs + i * HOUR for i in range(20)]
    assert [p["ts"] for p in body["points"]] == [_z(h) for h in hours]
    socs = {b["ts"]: b for b in vehicle_buckets(dataset, vehicle, "hour", hs, end)}
    for h, point in zip(hours, body["points"], strict=True):
        truth = performance(dataset, vehicle, h, h + HOUR)
        assert Decimal(str(point["kwhConsumedAc"])) == truth["ac"], h
        assert Decimal(str(point["kwhDeliveredDc"])) == truth["dc"], h
        bucket = socs.get(h)
        assert point["socMax"] == (bucket["soc_max"] if bucket else None)
        assert point["socMin"] == (bucket["soc_min"] if bucket else None)
    assert (
        sum(Decimal(str(p["kwhConsumedAc"])) for p in body["points"])
        == performance(dataset, vehicle, hs, end)["ac"]
    )


async def test_vehicle_energy_of_an_unknown_vehicle_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/vehicles/nobody/energy")).status_code == 404


async def test_new_endpoints_need_a_token(client: httpx.AsyncClient) -> None:
    for path in ("/v1/fleet/energy", "/v1/vehicles", "/v1/vehicles/v-a/energy"):
        assert (await client.get(path, headers={"Authorization": ""})).status_code == 401, path
