"""A fleet of devices posting readings to the gateway in a background thread.

Every reading is remembered once the gateway answered 202 for it: that set is what the
fault tests call *acknowledged*. A post that gets 503 (Kafka unavailable), 429 or no
answer at all is retried after a short pause, as a device would.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from tests.support import iso

Key = tuple[str, str, str]  # (kind, device id, timestamp as ISO text)
RETRYABLE = {429, 500, 502, 503, 504}


def meter(device: str, ts: datetime, rng: random.Random) -> dict[str, Any]:
    """A plausible meter reading."""
    return {
        "type": "meter",
        "meterId": device,
        "kwhConsumedAc": round(rng.uniform(0, 2), 3),
        "voltage": round(rng.uniform(225, 245), 1),
        "timestamp": iso(ts),
    }


def vehicle(device: str, ts: datetime, rng: random.Random) -> dict[str, Any]:
    """A plausible vehicle reading."""
    return {
        "type": "vehicle",
        "vehicleId": device,
        "soc": round(rng.uniform(5, 100), 1),
        "kwhDeliveredDc": round(rng.uniform(0, 1.8), 3),
        "batteryTemp": round(rng.uniform(15, 45), 1),
        "timestamp": iso(ts),
    }


def key_of(reading: dict[str, Any]) -> Key:
    """The identity of a reading: (kind, device id, timestamp)."""
    device = reading.get("meterId") or reading.get("vehicleId")
    return (str(reading["type"]), str(device), str(reading["timestamp"]))


@dataclass
class Load:
    """``devices`` meters and as many vehicles, one reading each per minute of ``minutes``.

    One post carries one minute of the whole fleet; posts are ``pace_s`` apart, so a
    load lasts about ``minutes * pace_s`` seconds plus the time spent on retries.
    """

    gateway_url: str
    token: str
    prefix: str
    devices: int = 50
    minutes: int = 40
    pace_s: float = 0.25
    seed: int = 1
    start: datetime = field(default_factory=lambda: datetime.now(UTC).replace(second=0, microsecond=0))
    acknowledged: set[Key] = field(default_factory=set)
    retries: int = 0
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.start = self.start - timedelta(minutes=self.minutes + 5)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"load-{self.prefix}", daemon=True)
        self._stop = threading.Event()

    @property
    def total(self) -> int:
        return 2 * self.devices * self.minutes

    def readings(self, minute: int, rng: random.Random) -> list[dict[str, Any]]:
        """The fleet's readings of one minute."""
        ts = self.start + timedelta(minutes=minute)
        out = [meter(f"{self.prefix}-m{d}", ts, rng) for d in range(self.devices)]
        out += [vehicle(f"{self.prefix}-v{d}", ts, rng) for d in range(self.devices)]
        return out

    def begin(self) -> Load:
        self._thread.start()
        return self

    def acked(self) -> int:
        with self._lock:
            return len(self.acknowledged)

    def wait_acked(self, count: int, what: str, timeout: float = 30.0) -> None:
        """Poll until ``count`` readings are acknowledged."""
        deadline = time.monotonic() + timeout
        while self.acked() < count:
            assert time.monotonic() < deadline, f"{what}: {self.acked()} of {count} acknowledged"
            time.sleep(0.05)

    def wait(self, timeout: float = 180.0) -> None:
        """Wait for the last post to be acknowledged."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._stop.set()
            raise AssertionError(f"load {self.prefix} not finished within {timeout} s")
        assert not self.failures, self.failures[:3]

    def abort(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        rng = random.Random(self.seed)
        with httpx.Client(
            base_url=self.gateway_url, headers={"Authorization": f"Bearer {self.token}"}, timeout=15
        ) as client:
            for minute in range(self.minutes):
                started = time.monotonic()
                if not self.post(client, self.readings(minute, rng)):
                    return
                self._stop.wait(max(0.0, self.pace_s - (time.monotonic() - started)))

    def post(self, client: httpx.Client, body: list[dict[str, Any]]) -> bool:
        """Post until acknowledged; False if stopped or answered with a client error."""
        while not self._stop.is_set():
            try:
                resp = client.post("/v1/ingest", json=body)
            except httpx.HTTPError:
                status = None
            else:
                status = resp.status_code
            if status == 202:
                with self._lock:
                    self.acknowledged.update(key_of(r) for r in body)
                return True
            if status is not None and status not in RETRYABLE:
                self.failures.append(f"HTTP {status}: {resp.text[:300]}")
                return False
            self.retries += 1
            self._stop.wait(0.5)
        return False


class LoadStarter(Protocol):
    """The ``start_load`` fixture: begin a load of the test's own devices."""

    def __call__(self, prefix: str, *, devices: int, minutes: int, pace_s: float) -> Load: ...
