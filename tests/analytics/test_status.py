"""Status endpoints, health, metrics, session settings and database failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from analytics_api.app import create_app
from analytics_api.db import Database as Pools
from analytics_api.db import translated
from analytics_api.errors import QueryTimeout
from common.tokens import Scope

from .support import (
    NOW,
    Clock,
    Database,
    Dataset,
    newest_meter_reading,
    newest_vehicle_reading,
    serve,
    settings_for,
    token,
)


@pytest.fixture
def moved_clock(clock: Clock) -> Iterator[Clock]:
    """The app's clock, put back after the test."""
    yield clock
    clock.now = NOW


async def test_vehicle_status_is_the_newest_reading(
    client: httpx.AsyncClient, dataset: Dataset, moved_clock: Clock
) -> None:
    want = newest_vehicle_reading(dataset, "v-a")
    body = json.loads((await client.get("/v1/vehicles/v-a/status")).text, parse_float=Decimal)
    assert body["vehicleId"] == "v-a"
    assert body["timestamp"] == want["ts"].isoformat().replace("+00:00", "Z")
    assert float(body["soc"]) == want["soc"]
    assert body["kwhDeliveredDc"] == want["kwh_delivered_dc"]
    assert body["batteryTemp"] == want["battery_temp"]
    assert body["stale"] is True
    moved_clock.now = want["received_at"] + timedelta(seconds=30)
    body = (await client.get("/v1/vehicles/v-a/status")).json()
    assert body["stale"] is False
    assert body["ageSeconds"] == 30


async def test_meter_status_is_the_newest_reading(client: httpx.AsyncClient, dataset: Dataset) -> None:
    want = newest_meter_reading(dataset, "m-b2")
    body = (await client.get("/v1/meters/m-b2/status")).json()
    assert body["meterId"] == "m-b2"
    assert body["timestamp"] == want["ts"].isoformat().replace("+00:00", "Z")
    assert body["voltage"] == want["voltage"]
    assert body["stale"] is True


async def test_health_readiness_and_metrics(client: httpx.AsyncClient) -> None:
    anonymous = {"Authorization": ""}  # these need no credentials
    assert (await client.get("/healthz", headers=anonymous)).json() == {"status": "ok"}
    ready = await client.get("/readyz", headers=anonymous)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"reader": True, "mapper": True}}
    metrics = await client.get("/metrics", headers=anonymous)
    assert 'analytics_requests_total{method="GET",route="/readyz",status="200"}' in metrics.text
    assert "analytics_request_seconds_bucket" in metrics.text


async def test_sessions_are_utc_time_limited_and_read_only(main_db: Database) -> None:
    pools = Pools(settings_for(main_db, statement_timeout_ms=1234))
    await pools.open()
    try:
        async with pools.reader.connection() as conn:
            cur = await conn.execute(
                "SELECT current_setting('TimeZone') AS tz, current_setting('statement_timeout') AS timeout,"
                " current_setting('default_transaction_read_only') AS ro, current_user AS who"
            )
            assert await cur.fetchone() == {
                "tz": "UTC",
                "timeout": "1234ms",
                "ro": "on",
                "who": "analytics_reader",
            }
        async with pools.mapper.connection() as conn:
            cur = await conn.execute("SELECT current_setting('TimeZone') AS tz, current_user AS who")
            assert await cur.fetchone() == {"tz": "UTC", "who": "analytics_mapper"}

        async def too_slow() -> None:
            with translated(1234):
                async with pools.reader.connection() as conn:
                    await conn.execute("SELECT pg_sleep(5)")

        with pytest.raises(QueryTimeout, match="1234 ms"):
            await too_slow()
    finally:
        await pools.close()


async def test_an_unreachable_database_is_503(main_db: Database) -> None:
    dead = Database("", "postgresql://nobody:pw@127.0.0.1:1/none", "postgresql://nobody:pw@127.0.0.1:1/none")
    app = create_app(settings_for(dead, pool_timeout_s=0.3, pool_min_size=0), clock=Clock(NOW))
    async with serve(app) as c:
        r = await c.get("/v1/analytics/performance/v-a")
        assert r.status_code == 503
        assert r.json()["error"] == "database_unavailable"
        ready = await c.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"reader": False, "mapper": False}


async def test_unexpected_errors_are_json_500(main_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(settings_for(main_db), clock=Clock(NOW))

    async def boom(*_: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(app.state.analytics.db, "fetch_one", boom)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://analytics", headers=token(Scope.ANALYST)
        ) as c:
            r = await c.get("/v1/vehicles/v-a/status")
    assert r.status_code == 500
    assert r.json()["error"] == "internal"
