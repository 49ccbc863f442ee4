"""The gateway answers 422 naming the field and the rule for a timestamp the time rules refuse."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.gateway.conftest import start_gateway
from tests.gateway.helpers import Gateway, meter
from tests.support import recent_minute, unique

SEED_METER = {
    "type": "meter",
    "meterId": "m-123",
    "kwhConsumedAc": 50.5,
    "voltage": 240,
    "timestamp": "2023-10-27T10:00:00Z",
}


@pytest.fixture(scope="module")
def strict_gateway(stack_env: dict[str, str]) -> Iterator[Gateway]:
    """A gateway with retention on (30 days) and readings older than an hour refused."""
    yield from start_gateway("gateway-tr", stack_env, RETENTION_DAYS="30", MAX_PAST_AGE_S="3600")


def timestamp_errors(gw: Gateway, body: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    with gw.client() as client:
        resp = client.post("/v1/ingest", json=body)
    assert resp.status_code == 422, resp.text
    return [(e["index"], e["field"], e["message"]) for e in resp.json()["errors"]]


def test_defaults_accept_the_seed_examples_and_refuse_1990(gateway: Gateway) -> None:
    with gateway.client() as client:
        assert client.post("/v1/ingest", json=SEED_METER).status_code == 202
    device = unique("g-floor")
    errors = timestamp_errors(gateway, [meter(device), meter(device, datetime(1990, 1, 1, tzinfo=UTC))])
    assert [(i, f) for i, f, _ in errors] == [(1, "timestamp")]
    assert "before the floor 2000-01-01T00:00:00Z (rule TIMESTAMP_FLOOR)" in errors[0][2]


def test_readings_beyond_retention_or_the_max_past_age_get_422_not_202(strict_gateway: Gateway) -> None:
    device = unique("g-ret")
    now = recent_minute()
    body = [
        meter(device, now),
        meter(device, now - timedelta(days=31)),
        meter(device, now - timedelta(hours=2)),
    ]
    errors = timestamp_errors(strict_gateway, body)
    assert [(i, f) for i, f, _ in errors] == [(1, "timestamp"), (2, "timestamp")]
    assert "before the retention horizon" in errors[0][2]
    assert "rule RETENTION_DAYS=30" in errors[0][2]
    assert "more than 3600 s in the past" in errors[1][2]
    assert "rule MAX_PAST_AGE_S" in errors[1][2]
    # The seed's 2023 example is older than the horizon there.
    assert "rule RETENTION_DAYS=30" in timestamp_errors(strict_gateway, [SEED_METER])[0][2]
    with strict_gateway.client() as client:
        assert client.post("/v1/ingest", json=[meter(device, recent_minute(2))]).status_code == 202
