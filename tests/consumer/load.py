"""A fleet of devices posting readings to the gateway in a background thread.

Every reading is remembered once the gateway answered 202 for it: that set is what the
fault tests call *acknowledged*. A post answered 503 (Kafka unavailable) or 429 with a
``Retry-After`` is retried after a short pause, as a device would. Anything else fails
the load: a 500 is a gateway bug, not weather, and no answer at all means the gateway
hung or died, which none of the fault tests does to it on purpose (they stop Kafka,
PostgreSQL and consumers; the gateway must keep answering through all of them).
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
RETRYABLE = {429, 503}  # only with a Retry-After header
_RUNNING: list[Load] = []  # begun and neither waited for nor aborted


def assert_no_load_failed() -> None:
    """Fail now if a running load has failed (the waits of the fault tests call this, so a
    gateway error shows as itself rather than as a timeout waiting for stored rows)."""
    for load in list(_RUNNING):
        load.healthy()


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
    sent: dict[Key, dict[str, Any]] = field(default_factory=dict)  # each acknowledged reading
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.start = self.start - timedelta(minutes=self.minutes + 5)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"load-{self.prefix}", daemon=True)
        self._stop = threading.Event()
        self._finish = threading.Event()
        self._retries = 0

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
        _RUNNING.append(self)
        self._thread.start()
        return self

    def healthy(self) -> None:
        """Fail now if a post failed (the load has stopped), rather than in a later timeout."""
        assert not self.failures, f"load {self.prefix} failed: {self.failures[:3]}"

    def acked(self) -> int:
        """Readings acknowledged so far (asserts the load has not failed)."""
        self.healthy()
        with self._lock:
            return len(self.acknowledged)

    @property
    def retries(self) -> int:
        """Posts retried after a 503 or 429 (asserts the load has not failed)."""
        self.healthy()
        return self._retries

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
        self._forget()
        self.healthy()

    def finish(self) -> None:
        """Post no new minute once the post under way is acknowledged (``wait()`` then returns).

        A test whose phases wait for more readings starts a load long enough to outlast them
        however slow the machine, and finishes it once they are done."""
        self._finish.set()

    def abort(self) -> None:
        self._stop.set()
        self._thread.join(30)
        self._forget()

    def _forget(self) -> None:
        _RUNNING[:] = [load for load in _RUNNING if load is not self]

    def _run(self) -> None:
        rng = random.Random(self.seed)
        with httpx.Client(
            base_url=self.gateway_url, headers={"Authorization": f"Bearer {self.token}"}, timeout=15
        ) as client:
            for minute in range(self.minutes):
                if self._finish.is_set():
                    return
                started = time.monotonic()
                if not self.post(client, self.readings(minute, rng)):
                    return
                self._stop.wait(max(0.0, self.pace_s - (time.monotonic() - started)))

    def post(self, client: httpx.Client, body: list[dict[str, Any]]) -> bool:
        """Post until acknowledged; False if stopped or failed (see :attr:`failures`)."""
        while not self._stop.is_set():
            try:
                resp = client.post("/v1/ingest", json=body)
            except httpx.HTTPError as exc:
                self.failures.append(f"no answer from the gateway: {exc!r}")
                return False
            if resp.status_code == 202:
                with self._lock:
                    self.acknowledged.update(key_of(r) for r in body)
                    self.sent.update((key_of(r), r) for r in body)
                return True
            if resp.status_code not in RETRYABLE or "retry-after" not in resp.headers:
                self.failures.append(f"HTTP {resp.status_code} {dict(resp.headers)}: {resp.text[:300]}")
                return False
            self._retries += 1
            self._stop.wait(0.5)  # shorter than Retry-After: the tests want the recovery soon
        return False


class LoadStarter(Protocol):
    """The ``start_load`` fixture: begin a load of the test's own devices."""

    def __call__(self, prefix: str, *, devices: int, minutes: int, pace_s: float) -> Load: ...
