"""The analytics API on a streaming standby: reads there with their lag, falls back, comes back.

A real primary and a real hot standby (pg_basebackup), the real analytics service reading
from the standby and writing mappings to the primary. Whether an answer came from the
standby is proved by pausing the standby's replay: a row committed on the primary after
the pause is invisible to reads from the standby and visible to reads from the primary.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from common.tokens import Scope, issue
from devstack import free_port
from devstack.postgres import PostgresServer
from devstack.standby import PostgresStandby
from energy_ingest.logins import ServiceRole, ensure_login
from energy_ingest.migrate import migrate
from energy_ingest.procs import ServiceProcess, wait_http

SECRET = "standby-test-secret-" + "s" * 32
T = TypeVar("T")


@dataclass
class Deployment:
    primary: PostgresServer
    standby: PostgresStandby
    api: str
    process: ServiceProcess

    def get(self, path: str, scope: Scope = Scope.ANALYST) -> httpx.Response:
        headers = {"Authorization": f"Bearer {issue(SECRET, scope, 'tester')}"}
        return httpx.get(f"{self.api}{path}", headers=headers, timeout=10)

    def ok(self, path: str) -> httpx.Response | None:
        """The answer to ``path`` if it is a 200, else None (for :func:`eventually`)."""
        r = self.get(path)
        return r if r.status_code == 200 else None


def eventually(check: Callable[[], T | None], what: str, timeout: float = 20) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    pytest.fail(f"not within {timeout:.0f} s: {what}")


def _standby_url(primary_url: str, standby: PostgresStandby) -> str:
    return primary_url.replace(f":{standby.primary.port}/", f":{standby.port}/")


def _add_vehicle(primary: PostgresServer, vehicle_id: str) -> None:
    with psycopg.connect(primary.database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO vehicle_status (vehicle_id, ts, soc, kwh_delivered_dc, battery_temp, received_at)"
            " VALUES (%s, %s, 55, 1.5, 30, now())",
            (vehicle_id, datetime(2024, 5, 1, tzinfo=UTC)),
        )


def _replay(standby: PostgresStandby, action: str) -> None:
    with psycopg.connect(standby.url("postgres"), autocommit=True) as conn:
        conn.execute(f"SELECT pg_wal_replay_{action}()")  # action is 'pause' or 'resume'


def _fallback_metric(d: Deployment) -> float:
    text = httpx.get(f"{d.api}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "analytics_read_fallback":
                return sample.value
    pytest.fail("/metrics has no analytics_read_fallback")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = Path(tmp_path_factory.mktemp("standby-reads"))
    primary = PostgresServer(root / "primary", free_port(), replication=True)
    primary.start()
    migrate(primary.database_url)
    reader = ensure_login(primary.database_url, "standby_reader", "reader-pw", ServiceRole.READER)
    mapper = ensure_login(primary.database_url, "standby_mapper", "mapper-pw", ServiceRole.MAPPER)
    standby = PostgresStandby(primary, root / "standby", free_port())
    standby.start()
    port = free_port()
    env = {
        "ANALYTICS_DATABASE_URL": _standby_url(reader, standby),
        "ANALYTICS_PRIMARY_DATABASE_URL": reader,
        "MAPPING_DATABASE_URL": mapper,
        "AUTH_SECRET": SECRET,
        "ANALYTICS_PORT": str(port),
        "STANDBY_CHECK_INTERVAL_S": "0.3",
        "ANALYTICS_POOL_TIMEOUT_S": "2",
        "LOG_LEVEL": "WARNING",
    }
    sink = open(os.devnull, "w")  # noqa: SIM115
    process = ServiceProcess("analytics", ["analytics"], env, sink=sink).start()
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", 60, process)
        yield Deployment(primary, standby, f"http://127.0.0.1:{port}", process)
    finally:
        process.stop()
        sink.close()
        standby.stop()
        primary.stop()


def test_reads_come_from_the_standby_with_its_lag(deployment: Deployment) -> None:
    d = deployment
    ready = eventually(lambda: d.ok("/readyz"), "ready")
    assert ready.json()["readSource"] == "standby"
    assert ready.json()["checks"] == {"reader": True, "mapper": True, "standby": True}
    _add_vehicle(d.primary, "v-replicated")
    r = eventually(lambda: d.ok("/v1/vehicles/v-replicated/status"), "replayed")
    assert r.headers["X-Read-Source"] == "standby"
    assert float(r.headers["X-Replica-Lag-Seconds"]) >= 0
    print(f"\nreplay lag seen on the standby: {r.headers['X-Replica-Lag-Seconds']} s")
    _replay(d.standby, "pause")
    try:
        _add_vehicle(d.primary, "v-not-yet")
        time.sleep(1.0)
        r = d.get("/v1/vehicles/v-not-yet/status")
        assert r.status_code == 404, "this read did not come from the paused standby"
        assert r.headers["X-Read-Source"] == "standby"
        lagging = eventually(
            lambda: (lag := float(d.get("/healthz").headers["X-Replica-Lag-Seconds"])) > 0.5 and lag,
            "the paused standby reports a growing replay lag",
        )
        print(f"replay lag seen while the standby's replay was paused: {lagging:.3f} s")
    finally:
        _replay(d.standby, "resume")
    eventually(lambda: d.get("/v1/vehicles/v-not-yet/status").status_code == 200, "replay resumed")


def test_a_mapping_write_is_read_back_at_once(deployment: Deployment) -> None:
    d = deployment
    _replay(d.standby, "pause")  # the standby cannot have it: the read must go to the primary
    try:
        headers = {"Authorization": f"Bearer {issue(SECRET, Scope.ADMIN, 'ops')}"}
        put = httpx.put(
            f"{d.api}/v1/mappings/meters/m-ryw", json={"vehicleId": "v-ryw"}, headers=headers, timeout=10
        )
        assert put.status_code == 200, put.text
        got = httpx.get(f"{d.api}/v1/mappings/meters/m-ryw", headers=headers, timeout=10)
        assert got.status_code == 200, got.text
        assert got.json()["current"]["vehicleId"] == "v-ryw"
    finally:
        _replay(d.standby, "resume")


def test_reads_fall_back_to_the_primary_and_return(deployment: Deployment) -> None:
    d = deployment
    _add_vehicle(d.primary, "v-fallback")
    eventually(lambda: d.get("/v1/vehicles/v-fallback/status").status_code == 200, "replayed")
    assert _fallback_metric(d) == 0
    d.standby.kill()

    def on_primary() -> httpx.Response | None:
        r = d.ok("/readyz")
        return r if r is not None and r.json().get("readSource") == "primary" else None

    ready = eventually(on_primary, "readiness names the primary")
    assert ready.json()["checks"]["standby"] is False
    r = d.get("/v1/vehicles/v-fallback/status")
    assert r.status_code == 200
    assert r.headers["X-Read-Source"] == "primary"
    assert _fallback_metric(d) == 1
    d.standby.start()
    eventually(lambda: d.get("/readyz").json().get("readSource") == "standby", "back on the standby")
    r = d.get("/v1/vehicles/v-fallback/status")
    assert r.status_code == 200
    assert r.headers["X-Read-Source"] == "standby"
    assert _fallback_metric(d) == 0
