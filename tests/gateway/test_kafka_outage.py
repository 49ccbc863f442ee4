"""Kafka stops mid-test: 503 + Retry-After within the deadline, not-ready, no hung requests,
no acknowledged reading lost; Kafka back: 202 again from the same gateway process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

from devstack import Stack
from energy_ingest.procs import ServiceProcess
from tests.gateway.conftest import PRODUCE_DEADLINE_S, RETRY_AFTER_S, start_gateway
from tests.gateway.helpers import Gateway, kafka_restored, meter, vehicle
from tests.support import count_rows, eventually, recent_minute, unique

# The deadline plus what a loaded 2-core machine may add to one HTTP round trip.
ANSWER_WITHIN_S = PRODUCE_DEADLINE_S + 1.5


@pytest.fixture(scope="module")
def outage_gateway(stack_env: dict[str, str]) -> Iterator[Gateway]:
    """A gateway of its own, so that the outage cannot leak into other tests' gateway."""
    yield from start_gateway("gateway-outage", stack_env)


def _post(gateway: Gateway, body: Any) -> tuple[int, dict[str, str], dict[str, Any], float]:
    started = time.monotonic()
    with gateway.client() as gw:
        r = gw.post("/v1/ingest", json=body)
    return r.status_code, dict(r.headers), r.json(), time.monotonic() - started


def _stored(db: psycopg.Connection[tuple[Any, ...]], prefix: str) -> int:
    return count_rows(db, "meter_telemetry", "meter_id", prefix) + count_rows(
        db, "vehicle_telemetry", "vehicle_id", prefix
    )


def test_kafka_down_then_back(
    stack: Stack, outage_gateway: Gateway, consumer: ServiceProcess, stack_env: dict[str, str]
) -> None:
    gw, pid = outage_gateway, outage_gateway.proc.pid
    prefix = unique("outage")
    accepted: list[dict[str, Any]] = []
    for i in range(10):
        batch = [meter(f"{prefix}-m{i}"), vehicle(f"{prefix}-v{i}", recent_minute(1))]
        status, _, body, _ = _post(gw, batch)
        assert (status, body) == (202, {"accepted": 2})
        accepted += batch

    with kafka_restored(stack), psycopg.connect(stack_env["DATABASE_URL"], autocommit=True) as db:
        stack.kafka.stop()

        def refused() -> httpx.Response | None:
            r = httpx.get(f"{gw.url}/readyz", timeout=10)
            return r if r.status_code == 503 else None

        not_ready = eventually(refused)
        assert not_ready.headers["retry-after"] == str(RETRY_AFTER_S)
        assert not_ready.json()["error"] == "kafka_unavailable"

        status, headers, body, took = _post(gw, meter(f"{prefix}-down"))
        assert status == 503, body
        assert headers["retry-after"] == str(RETRY_AFTER_S)
        assert body["error"] == "kafka_unavailable"
        assert took <= ANSWER_WITHIN_S

        # many requests at once: every one answers 503 within the deadline, none hangs
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda i: _post(gw, meter(f"{prefix}-c{i}")), range(16)))
        assert {a[0] for a in answers} == {503}
        assert all("retry-after" in a[1] for a in answers)
        assert max(a[3] for a in answers) <= ANSWER_WITHIN_S
        assert gw.proc.alive()

        stack.kafka.start()

        def accepted_again() -> bool:
            status, _, _, _ = _post(gw, meter(f"{prefix}-back", recent_minute(2)))
            return status == 202

        eventually(accepted_again, timeout=90, every=0.5)
        assert httpx.get(f"{gw.url}/readyz", timeout=10).status_code == 200
        assert gw.proc.alive()
        assert gw.proc.pid == pid  # recovered without a restart

        # every acknowledged reading reaches PostgreSQL (the consumer drains Kafka)
        eventually(lambda: _stored(db, f"{prefix}-m") + _stored(db, f"{prefix}-v") == len(accepted), 120)
        eventually(lambda: _stored(db, f"{prefix}-back") == 1, 60)  # retried posts are stored once
        # records queued during the outage were settled (delivered or failed): nothing hangs
        eventually(lambda: gw.metric("gateway_in_flight_records") == 0, 60)
