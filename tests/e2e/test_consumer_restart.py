"""Restarting the consumer mid-stream neither loses nor duplicates a reading."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from typing import Any

import pytest

from tests.support import Services, count_rows, eventually, iso, recent_minute, unique

pytestmark = pytest.mark.e2e

DEVICES = 200
MINUTES = 15  # readings per device


def _post_load(services: Services, prefix: str, acknowledged: list[int]) -> None:
    base = recent_minute(60)
    with services.gateway() as gw:
        for minute in range(MINUTES):
            ts = iso(base + timedelta(minutes=minute))
            batch: list[dict[str, Any]] = [
                {
                    "type": "meter",
                    "meterId": f"{prefix}-{d}",
                    "kwhConsumedAc": 0.5,
                    "voltage": 230.0,
                    "timestamp": ts,
                }
                for d in range(DEVICES)
            ]
            resp = gw.post("/v1/ingest", json=batch)
            assert resp.status_code == 202, resp.text
            acknowledged.append(resp.json()["accepted"])


def test_consumer_restarts_mid_stream_lose_and_duplicate_nothing(services: Services) -> None:
    prefix = unique("m-restart")
    acknowledged: list[int] = []
    loader = threading.Thread(target=_post_load, args=(services, prefix, acknowledged))
    loader.start()
    with services.db() as db:
        eventually(lambda: count_rows(db, "meter_telemetry", "meter_id", prefix) > 0, timeout=60)
        # a graceful restart, then a crash, while the load is still arriving
        services.procs["consumer-1"].stop()
        services.start_consumer("consumer-1")
        eventually(lambda: count_rows(db, "meter_telemetry", "meter_id", prefix) > DEVICES * 4, timeout=90)
        services.procs["consumer-1"].signal(signal.SIGKILL)
        services.procs["consumer-1"].wait(10)
        loader.join(120)
        services.start_consumer("consumer-1")
        expected = sum(acknowledged)
        assert expected == DEVICES * MINUTES
        stored = eventually(
            lambda: (n := count_rows(db, "meter_telemetry", "meter_id", prefix)) == expected and n,
            timeout=120,
        )
        row = db.execute(
            "SELECT count(*), count(DISTINCT (meter_id, ts)) FROM meter_telemetry WHERE meter_id LIKE %s",
            (prefix + "%",),
        ).fetchone()
        assert row is not None
        rolled = db.execute(
            "SELECT sum(samples) FROM meter_hourly WHERE meter_id LIKE %s", (prefix + "%",)
        ).fetchone()
        assert rolled is not None
        lost = expected - stored
        duplicates = stored - int(row[1])
        print(f"acknowledged={expected} stored={stored} duplicates={duplicates} lost={lost}")
        assert (lost, duplicates) == (0, 0)
        assert int(rolled[0]) == expected, "rollups counted a reading twice or missed one"
        statuses = count_rows(db, "meter_status", "meter_id", prefix)
        assert statuses == DEVICES
