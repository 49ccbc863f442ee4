"""Restarting the consumer mid-stream neither loses nor duplicates a reading."""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from tests.support import Services, count_rows, eventually, iso, recent_minute, unique

pytestmark = pytest.mark.e2e

DEVICES = 200
MAX_MINUTES = 240  # posts at most (one minute of every device each); the test stops it sooner
PACE_S = 0.25

Acks = list[tuple[float, int]]  # (monotonic time of a 202, readings it acknowledged)


def _post_load(services: Services, prefix: str, acks: Acks, stop: threading.Event) -> None:
    """Post one minute of every device each ``PACE_S`` until ``stop`` (or MAX_MINUTES)."""
    base = recent_minute(MAX_MINUTES + 5)
    with services.gateway() as gw:
        for minute in range(MAX_MINUTES):
            if stop.is_set():
                return
            started = time.monotonic()
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
            acks.append((time.monotonic(), resp.json()["accepted"]))
            stop.wait(max(0.0, PACE_S - (time.monotonic() - started)))


def _acked(acks: Acks, after: float = 0.0, before: float = float("inf")) -> int:
    return sum(n for at, n in list(acks) if after < at < before)


def _while_posting(posting: Future[None], what: str) -> float:
    """The moment of an event that must happen while the load is still posting."""
    if posting.done():
        posting.result()  # a failed post raises its own error here
        raise AssertionError(f"the load had finished before {what}")
    return time.monotonic()


def test_consumer_restarts_mid_stream_lose_and_duplicate_nothing(services: Services) -> None:
    prefix = unique("m-restart")
    acks: Acks = []
    stop = threading.Event()

    def stored() -> int:
        return count_rows(db, "meter_telemetry", "meter_id", prefix)

    with ThreadPoolExecutor(1) as pool, services.db() as db:
        posting = pool.submit(_post_load, services, prefix, acks, stop)
        try:
            eventually(lambda: stored() > 0, timeout=60)
            # a graceful restart, then a crash, each while readings are still arriving
            stopped_at = _while_posting(posting, "the graceful stop")
            services.procs["consumer-1"].stop()
            services.start_consumer("consumer-1")
            restarted_with = stored()
            eventually(lambda: stored() > restarted_with + DEVICES * 2, timeout=90)
            killed_at = _while_posting(posting, "the kill")
            services.procs["consumer-1"].signal(signal.SIGKILL)
            services.procs["consumer-1"].wait(10)
            stored_at_kill = stored()  # the only consumer is dead: nothing more until the restart
            eventually(lambda: _acked(acks, after=killed_at) > 0, timeout=30)  # posts keep arriving
            resumed_at = _while_posting(posting, "the restart after the kill")
            services.start_consumer("consumer-1")
            eventually(lambda: _acked(acks, after=resumed_at) > 0, timeout=30)
        finally:
            stop.set()
        posting.result(timeout=60)  # re-raises a failed post
        expected = _acked(acks)
        assert expected == DEVICES * len(acks)
        for event, at in (("graceful stop", stopped_at), ("kill", killed_at)):
            assert _acked(acks, before=at) > 0, f"readings acknowledged before the {event}"
            assert _acked(acks, after=at) > 0, f"readings acknowledged after the {event}"
        assert stored_at_kill < expected, "the kill happened before everything was stored"
        stored_rows = eventually(lambda: (n := stored()) == expected and n, timeout=120)
        row = db.execute(
            "SELECT count(*), count(DISTINCT (meter_id, ts)) FROM meter_telemetry WHERE meter_id LIKE %s",
            (prefix + "%",),
        ).fetchone()
        assert row is not None
        rolled = db.execute(
            "SELECT sum(samples) FROM meter_hourly WHERE meter_id LIKE %s", (prefix + "%",)
        ).fetchone()
        assert rolled is not None
        lost = expected - stored_rows
        duplicates = stored_rows - int(row[1])
        print(
            f"acknowledged={expected} stored={stored_rows} duplicates={duplicates} lost={lost} "
            f"(stored at the kill: {stored_at_kill}; posts: {len(acks)})"
        )
        assert (lost, duplicates) == (0, 0)
        assert int(rolled[0]) == expected, "rollups counted a reading twice or missed one"
        statuses = count_rows(db, "meter_status", "meter_id", prefix)
        assert statuses == DEVICES
