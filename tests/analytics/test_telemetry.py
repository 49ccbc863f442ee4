"""GET /v1/vehicles/{id}/telemetry and /v1/meters/{id}/telemetry: buckets, paging, CSV."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from .support import BASE, Dataset, meter_buckets, vehicle_buckets

UNITS = {"1m": "minute", "1h": "hour", "1d": "day"}


def z(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("bucket", "start", "end"),
    [
        ("1m", BASE + timedelta(hours=13, minutes=10), BASE + timedelta(hours=15, minutes=3)),
        ("1h", BASE, BASE + timedelta(hours=30)),
        ("1d", BASE, BASE + timedelta(days=2)),
    ],
)
async def test_vehicle_buckets_equal_the_readings_sent(
    client: httpx.AsyncClient,
    dataset: Dataset,
    bucket: str,
    start: datetime,
    end: datetime,
) -> None:
    r = await client.get(
        "/v1/vehicles/v-a/telemetry", params={"from": z(start), "to": z(end), "bucket": bucket}
    )
    assert r.status_code == 200, r.text
    body = json.loads(r.text, parse_float=Decimal)
    assert body["bucket"] == bucket
    assert body["nextFrom"] is None
    want = vehicle_buckets(dataset, "v-a", UNITS[bucket], start, end)
    assert [p["ts"] for p in body["points"]] == [z(w["ts"]) for w in want]
    for p, w in zip(body["points"], want, strict=True):
        assert p["samples"] == w["samples"]
        assert p["kwhDeliveredDc"] == w["kwh"]
        assert float(p["socMin"]) == w["soc_min"]
        assert float(p["socMax"]) == w["soc_max"]
        assert p["batteryTempMax"] == w["temp_max"]
        assert math.isclose(p["batteryTempAvg"], w["temp_avg"], rel_tol=1e-12)


@pytest.mark.parametrize("bucket", ["1m", "1h", "1d"])
async def test_meter_buckets_equal_the_readings_sent(
    client: httpx.AsyncClient, dataset: Dataset, bucket: str
) -> None:
    start, end = BASE + timedelta(hours=3), BASE + timedelta(hours=9)
    r = await client.get(
        "/v1/meters/m-move/telemetry", params={"from": z(start), "to": z(end), "bucket": bucket}
    )
    body = json.loads(r.text, parse_float=Decimal)
    lo, hi = (BASE, BASE + timedelta(days=1)) if bucket == "1d" else (start, end)
    assert body["from"] == z(lo)
    assert body["to"] == z(hi)
    want = meter_buckets(dataset, "m-move", UNITS[bucket], lo, hi)
    assert len(body["points"]) == len(want)
    for p, w in zip(body["points"], want, strict=True):
        assert p["ts"] == z(w["ts"])
        assert p["samples"] == w["samples"]
        assert p["kwhConsumedAc"] == w["kwh"]
        assert float(p["voltageMin"]) == w["v_min"]
        assert float(p["voltageMax"]) == w["v_max"]
        assert math.isclose(p["voltageAvg"], w["v_avg"], rel_tol=1e-9)


async def test_the_window_widens_to_whole_buckets(client: httpx.AsyncClient, dataset: Dataset) -> None:
    params = {"from": "2024-03-10T05:00:30Z", "to": "2024-03-10T05:10:00.5Z", "bucket": "1m"}
    body = (await client.get("/v1/meters/m-a1/telemetry", params=params)).json()
    assert body["from"] == "2024-03-10T05:00:00Z"
    assert body["to"] == "2024-03-10T05:11:00Z"
    params = {"from": "2024-03-10T05:00:30Z", "to": "2024-03-10T07:00:00Z", "bucket": "1h"}
    body = (await client.get("/v1/meters/m-a1/telemetry", params=params)).json()
    assert body["from"] == "2024-03-10T05:00:00Z"
    assert body["to"] == "2024-03-10T07:00:00Z"
    assert len(body["points"]) == 2


async def test_limit_and_next_from(client: httpx.AsyncClient, dataset: Dataset) -> None:
    params = {"from": "2024-03-10T00:00:00Z", "to": "2024-03-11T06:00:00Z", "bucket": "1h"}
    whole = (await client.get("/v1/vehicles/v-b/telemetry", params=params)).json()["points"]
    assert len(whole) == 30
    pages: list[dict[str, Any]] = []
    while True:
        body = (await client.get("/v1/vehicles/v-b/telemetry", params={**params, "limit": "7"})).json()
        assert len(body["points"]) <= 7
        pages += body["points"]
        if body["nextFrom"] is None:
            break
        params["from"] = body["nextFrom"]
    assert pages == whole


async def test_known_device_without_data_is_empty(client: httpx.AsyncClient, dataset: Dataset) -> None:
    r = await client.get("/v1/meters/m-idle/telemetry", params={"bucket": "1h"})
    assert r.status_code == 200
    assert r.json()["points"] == []


@pytest.mark.parametrize(
    ("query", "headers"),
    [({"format": "csv"}, {}), ({}, {"Accept": "text/csv"}), ({}, {"Accept": "text/csv;q=0.9, */*;q=0.1"})],
)
async def test_csv(
    client: httpx.AsyncClient, dataset: Dataset, query: dict[str, str], headers: dict[str, str]
) -> None:
    params = {"from": "2024-03-10T10:00:00Z", "to": "2024-03-10T10:30:00Z", **query}
    r = await client.get("/v1/vehicles/v-a/telemetry", params=params, headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(r.text)))
    as_json = await client.get("/v1/vehicles/v-a/telemetry", params={**params, "format": "json"})
    points = json.loads(as_json.text, parse_float=Decimal)["points"]
    assert list(rows[0]) == [
        "ts",
        "samples",
        "kwhDeliveredDc",
        "socMin",
        "socMax",
        "batteryTempAvg",
        "batteryTempMax",
    ]
    assert len(rows) == len(points) > 20
    for row, p in zip(rows, points, strict=True):
        assert row["ts"] == p["ts"]
        assert int(row["samples"]) == p["samples"]
        assert Decimal(row["kwhDeliveredDc"]) == p["kwhDeliveredDc"]
        assert float(row["socMin"]) == float(p["socMin"])
        assert math.isclose(float(row["batteryTempAvg"]), float(p["batteryTempAvg"]), rel_tol=1e-12)


async def test_csv_carries_the_continuation_in_a_header(client: httpx.AsyncClient, dataset: Dataset) -> None:
    params = {"from": "2024-03-10T00:00:00Z", "to": "2024-03-10T10:00:00Z", "bucket": "1h", "limit": "3"}
    r = await client.get("/v1/meters/m-a1/telemetry", params={**params, "format": "csv"})
    assert r.headers["X-Next-From"] == "2024-03-10T03:00:00Z"
    assert r.text.splitlines()[0] == "ts,samples,kwhConsumedAc,voltageMin,voltageMax,voltageAvg"
    assert len(r.text.splitlines()) == 4
