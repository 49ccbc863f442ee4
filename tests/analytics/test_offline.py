"""GET /v1/fleet/offline, the summary's offline counts and the offline gauges."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from analytics_api.app import create_app
from common.tokens import Scope

from .support import NOW, Clock, Database, Loader, create_database, serve, settings_for, token


@dataclass(frozen=True)
class Device:
    kind: str
    id: str
    received: datetime | None  # the gateway's receive time; None for rows from before it was kept
    updated: datetime
    reading: datetime

    @property
    def seen(self) -> datetime:
        return self.received if self.received is not None else self.updated


def _fleet() -> list[Device]:
    rng = random.Random(7)
    devices = []
    for kind in ("meter", "vehicle"):
        for i in range(60):
            silent = rng.choice([5, 120, 899, 901, 1800, 7200, 86_400 * 3])
            seen = NOW - timedelta(seconds=silent, milliseconds=rng.randrange(1000))
            known = i % 7 != 0
            devices.append(
                Device(
                    kind,
                    f"off-{kind[0]}-{i:03d}",
                    received=seen if known else None,
                    updated=seen if not known else seen + timedelta(seconds=1),
                    reading=seen - timedelta(seconds=rng.randrange(1, 600)),
                )
            )
    # Two devices silent since the very same instant: the order falls back to kind, then id.
    tie = NOW - timedelta(hours=2)
    devices += [
        Device("vehicle", "off-tie-b", tie, tie, tie),
        Device("meter", "off-tie-z", tie, tie, tie),
    ]
    return devices


FLEET = _fleet()


def expected(silent_for: float, kind: str | None = None) -> list[Device]:
    """The silent devices, computed here from the rows the test wrote."""
    before = NOW - timedelta(seconds=silent_for)
    chosen = [d for d in FLEET if d.seen < before and (kind is None or d.kind == kind)]
    return sorted(chosen, key=lambda d: (-d.seen.timestamp(), d.kind, d.id))


@pytest.fixture(scope="module")
def offline_db(pg_admin_url: str) -> Database:
    return create_database(pg_admin_url, "analytics_offline")


@pytest.fixture(scope="module")
async def client(offline_db: Database) -> AsyncIterator[httpx.AsyncClient]:
    loader = Loader(offline_db.admin)
    for d in FLEET:
        if d.kind == "meter":
            await loader.execute(
                "INSERT INTO meter_status (meter_id, ts, kwh_consumed_ac, voltage, received_at, updated_at)"
                " VALUES (%s, %s, 1, 230, %s, %s)",
                (d.id, d.reading, d.received, d.updated),
            )
        else:
            await loader.execute(
                "INSERT INTO vehicle_status"
                " (vehicle_id, ts, soc, kwh_delivered_dc, battery_temp, received_at, updated_at)"
                " VALUES (%s, %s, 50, %s, 30, %s, %s)",
                (d.id, d.reading, Decimal("0.5"), d.received, d.updated),
            )
    async with serve(create_app(settings_for(offline_db), clock=Clock(NOW))) as c:
        yield c


def _ids(body: dict[str, object]) -> list[tuple[str, str]]:
    devices = body["devices"]
    assert isinstance(devices, list)
    return [(d["kind"], d["id"]) for d in devices]


async def test_lists_silent_devices_newest_silence_first(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/fleet/offline", params={"silentFor": 900, "limit": 1000})
    assert r.status_code == 200
    body = r.json()
    want = expected(900)
    assert 0 < len(want) < len(FLEET)
    assert body["total"] == len(want)
    assert body["silentForSeconds"] == 900
    assert _ids(body) == [(d.kind, d.id) for d in want]
    first = body["devices"][0]
    device = want[0]
    assert first["lastReadingAt"] == device.reading.isoformat().replace("+00:00", "Z")
    assert datetime.fromisoformat(first["lastReceivedAt"]) == device.seen
    assert first["silentSeconds"] == pytest.approx((NOW - device.seen).total_seconds())


async def test_pages_are_stable_and_cover_the_list(client: httpx.AsyncClient) -> None:
    want = [(d.kind, d.id) for d in expected(600)]
    seen: list[tuple[str, str]] = []
    for offset in range(0, len(want) + 7, 7):
        body = (
            await client.get("/v1/fleet/offline", params={"silentFor": 600, "limit": 7, "offset": offset})
        ).json()
        assert body["total"] == len(want)
        assert body["offset"] == offset
        seen += _ids(body)
    assert seen == want
    assert ("meter", "off-tie-z") in want
    tie = [pair for pair in want if pair[1].startswith("off-tie")]
    assert tie == [("meter", "off-tie-z"), ("vehicle", "off-tie-b")]


async def test_kind_filter_and_default_threshold(client: httpx.AsyncClient) -> None:
    body = (await client.get("/v1/fleet/offline", params={"kind": "vehicle", "limit": 1000})).json()
    assert body["silentForSeconds"] == 900  # OFFLINE_AFTER_S
    assert _ids(body) == [(d.kind, d.id) for d in expected(900, "vehicle")]
    assert body["total"] == len(expected(900, "vehicle"))


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"silentFor": 0}, "silentFor"),
        ({"silentFor": "soon"}, "silentFor"),
        ({"kind": "charger"}, "kind"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
    ],
)
async def test_bad_parameters_are_named(
    client: httpx.AsyncClient, params: dict[str, str | int], parameter: str
) -> None:
    r = await client.get("/v1/fleet/offline", params=params)
    assert r.status_code == 422
    assert r.json()["parameter"] == parameter


async def test_needs_an_analyst_token(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/fleet/offline", headers={"Authorization": ""})
    assert r.status_code == 401
    r = await client.get("/v1/fleet/offline", headers=token(Scope.FLEET))
    assert r.status_code == 403


async def test_summary_and_gauges_count_offline_devices(client: httpx.AsyncClient) -> None:
    summary = (await client.get("/v1/fleet/summary")).json()
    assert summary["offlineAfterSeconds"] == 900
    assert summary["vehicles"]["offline"] == len(expected(900, "vehicle"))
    assert summary["meters"]["offline"] == len(expected(900, "meter"))
    text = (await client.get("/metrics")).text
    samples = {
        (s.name, s.labels.get("kind")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name in ("analytics_devices_offline", "analytics_devices")
    }
    for kind in ("meter", "vehicle"):
        assert samples[("analytics_devices_offline", kind)] == len(expected(900, kind))
        assert samples[("analytics_devices", kind)] == sum(d.kind == kind for d in FLEET)
