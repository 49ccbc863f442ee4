"""The analytics API as a child process, and latency measured through HTTP from this process."""

from __future__ import annotations

import asyncio
import math
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import aiohttp
import httpx
import psycopg

from analytics_api.window import ceil_to, floor_to
from energy_ingest.procs import ServiceProcess, wait_http
from sql import query

from .dataset import HOUR, Fleet

WINDOW = timedelta(hours=24)
PERFORMANCE = "performance"
PERFORMANCE_AGAIN = "performance, same requests again"
PERFORMANCE_SQL = "performance query alone (SQL)"
PERFORMANCE_SQL_CUSTOM = "performance query alone (SQL, custom plans)"
FLEET_SQL = "fleet query alone (SQL)"
FLEET = "fleet efficiency"
FLEET_REPEATED = "fleet efficiency, one window asked again"
FLEET_WEEK = "fleet efficiency, 7-day windows"
FLEET_WEEK_SQL = "fleet query alone (SQL), 7-day windows"
SUMMARY = "fleet summary"
WEEK = timedelta(days=7)


class AnalyticsApi:
    """``energy-ingest analytics`` (one uvicorn worker) as a child process, its output in a log file."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        self._env = {**env, "ANALYTICS_HOST": "127.0.0.1", "ANALYTICS_PORT": str(port)}
        self._log_path = log
        self._log: IO[str] | None = None
        self._proc: ServiceProcess | None = None

    def __enter__(self) -> AnalyticsApi:
        self._log = self._log_path.open("a")
        self._proc = ServiceProcess("analytics", ["analytics", "--workers", "1"], self._env, sink=self._log)
        self._proc.start()
        try:
            wait_http(f"{self.base_url}/readyz", 60, self._proc)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    @property
    def pid(self) -> int:
        """The API's process id."""
        assert self._proc is not None
        return self._proc.pid

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._proc is not None:
            self._proc.stop()
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass(frozen=True, slots=True)
class Request:
    """One GET: a path and its query parameters."""

    path: str
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class Latency:
    """The measured requests of one endpoint at one history size."""

    endpoint: str
    millis: list[float]
    wall_s: float
    clients: int
    load: float  # the machine's 1-minute load average when the measurement started

    @property
    def requests(self) -> int:
        """Measured requests (after the warm-up)."""
        return len(self.millis)

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile, ``q`` in (0, 100]."""
        ordered = sorted(self.millis)
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]

    @property
    def rate(self) -> float:
        """Requests per second over the measured part."""
        return self.requests / self.wall_s if self.wall_s else 0.0


def rfc3339(t: datetime) -> str:
    """``2025-01-07T13:27:41Z``."""
    return t.isoformat().replace("+00:00", "Z")


def random_window(
    rng: random.Random, start: datetime, end: datetime, length: timedelta = WINDOW
) -> tuple[datetime, datetime]:
    """A window (24 h by default) starting at a whole second inside an hour (never on the
    hour), in ``[start, end - length + 1 h)``: with as much history as the window's length it
    ends up to an hour past it."""
    span = int((end - length + HOUR - start).total_seconds())
    offset = rng.randrange(span)
    if offset % 3600 == 0:
        offset += 17
    lo = start + timedelta(seconds=offset)
    return lo, lo + length


def performance_requests(
    rng: random.Random, fleet: Fleet, history: tuple[datetime, datetime], count: int
) -> list[Request]:
    """Random vehicles, random 24 h windows inside the history."""
    out = []
    for _ in range(count):
        lo, hi = random_window(rng, *history)
        vid = fleet.vehicle(rng.randint(1, fleet.devices))
        out.append(Request(f"/v1/analytics/performance/{vid}", {"from": rfc3339(lo), "to": rfc3339(hi)}))
    return out


def fleet_requests(
    rng: random.Random, history: tuple[datetime, datetime], count: int, length: timedelta = WINDOW
) -> list[Request]:
    """Random windows inside the history, the 50 worst vehicles and one more per request: no
    two requests alike, so an API that keeps answers (the fleet ranking's cache) computes
    every one of them (the limit changes only how many of the ranked rows are sent)."""
    out = []
    for i in range(count):
        lo, hi = random_window(rng, *history, length)
        params = {"from": rfc3339(lo), "to": rfc3339(hi), "limit": str(50 + i)}
        out.append(Request("/v1/analytics/fleet/efficiency", params))
    return out


def repeated_fleet_requests(history: tuple[datetime, datetime], count: int) -> list[Request]:
    """The last 24 h of the history, ``limit=50``, ``count`` times: a dashboard's question."""
    lo = history[1] - WINDOW + timedelta(minutes=7)
    params = {"from": rfc3339(lo), "to": rfc3339(lo + WINDOW), "limit": "50"}
    return [Request("/v1/analytics/fleet/efficiency", params)] * count


def summary_requests(count: int) -> list[Request]:
    """``GET /v1/fleet/summary``, ``count`` times."""
    return [Request("/v1/fleet/summary", {})] * count


class RequestFailed(RuntimeError):
    """A benchmark request did not answer 200."""


async def _drive(
    session: aiohttp.ClientSession, base_url: str, requests: Sequence[Request], clients: int
) -> tuple[list[float], float]:
    """Send ``requests`` with ``clients`` concurrent callers; each latency in ms, and the wall time."""
    pending = list(reversed(requests))
    millis: list[float] = []

    async def caller() -> None:
        while pending:
            req = pending.pop()
            started = time.perf_counter()
            async with session.get(base_url + req.path, params=req.params) as resp:
                body = await resp.read()
            elapsed = (time.perf_counter() - started) * 1000
            if resp.status != 200:
                text = body[:300].decode(errors="replace")
                raise RequestFailed(f"GET {req.path} {req.params} -> {resp.status}: {text}")
            millis.append(elapsed)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(clients)))
    return millis, time.perf_counter() - started


async def _measure(
    base_url: str,
    token: str,
    endpoint: str,
    warmup: Sequence[Request],
    measured: Sequence[Request],
    clients: int,
) -> Latency:
    # aiohttp, as the gateway benchmark: the client shares the two cores with the API and
    # PostgreSQL, and httpx spent 1.2 ms of CPU per performance request, aiohttp about a
    # third of that (bench.analytics.cpu, docs/analytics-benchmark.md)
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(headers=headers, connector=connector, timeout=timeout) as session:
        await _drive(session, base_url, warmup, clients)
        load = os.getloadavg()[0]
        millis, wall = await _drive(session, base_url, measured, clients)
    return Latency(endpoint, millis, wall, clients, load)


def measure(
    base_url: str,
    token: str,
    endpoint: str,
    warmup: Sequence[Request],
    measured: Sequence[Request],
    clients: int,
) -> Latency:
    """Warm up (not recorded), then the measured requests, ``clients`` at a time."""
    return asyncio.run(_measure(base_url, token, endpoint, warmup, measured, clients))


def query_params(req: Request) -> dict[str, Any]:
    """The named query's parameters for an API request, as the API binds them (the fleet
    ranking's window widened to whole hours)."""
    start = datetime.fromisoformat(req.params["from"])
    end = datetime.fromisoformat(req.params["to"])
    if "limit" in req.params:  # the API rounds the window to whole hours
        return {
            "from": floor_to(start, HOUR),
            "to": ceil_to(end, HOUR),
            "limit": int(req.params["limit"]),
            "threshold": 0.85,
        }
    return {"vehicle_id": req.path.rsplit("/", 1)[1], "from": start, "to": end}


def measure_sql(
    url: str, name: str, endpoint: str, measured: Sequence[Request], *, plan_cache_mode: str = "auto"
) -> Latency:
    """The API's named query alone, for the same requests, one after another on one connection
    (prepared after five executions, as psycopg does in the API), without HTTP and Python web
    code: what the database contributes at this history size. The requests were sent through
    HTTP just before, so their pages are in memory. ``plan_cache_mode`` ``force_custom_plan``
    plans every execution with its values (no generic plan)."""
    options = f"-c TimeZone=UTC -c default_transaction_read_only=on -c plan_cache_mode={plan_cache_mode}"
    millis = []
    with psycopg.connect(url, autocommit=True, options=options) as conn:
        for req in measured[:10]:  # connect, prepare, plan: not counted
            params = query_params(req)
            conn.execute(query(name), params).fetchall()
        load = os.getloadavg()[0]
        started = time.perf_counter()
        for req in measured:
            params = query_params(req)
            t = time.perf_counter()
            conn.execute(query(name), params).fetchall()
            millis.append((time.perf_counter() - t) * 1000)
        wall = time.perf_counter() - started
    return Latency(endpoint, millis, wall, 1, load)


@dataclass(frozen=True, slots=True)
class ExactCase:
    """One answer of the API compared with sums over the raw readings."""

    vehicle: str
    start: datetime
    end: datetime
    meters: list[str]
    ok: bool
    detail: str


_RAW_DC = """
SELECT coalesce(sum(kwh_delivered_dc), 0), count(*), avg(battery_temp)
FROM vehicle_telemetry WHERE vehicle_id = %(v)s AND ts >= %(lo)s AND ts < %(hi)s
"""
_RAW_AC = """
SELECT coalesce(sum(t.kwh_consumed_ac), 0), count(*)
FROM smart_meter_mapping m
JOIN meter_telemetry t ON t.meter_id = m.meter_id AND m.valid @> t.ts
WHERE m.vehicle_id = %(v)s AND t.ts >= %(lo)s AND t.ts < %(hi)s
"""


def _same(api_value: Any, raw: Decimal) -> bool:
    """The API sends exact decimals as JSON numbers; equal when the number reads back as ``raw``."""
    return isinstance(api_value, int | float) and Decimal(repr(api_value)) == raw


def _close(api_value: Any, raw: Decimal | None) -> bool:
    """An average: the API's division and the database's agree to 1e-9 (both null without readings)."""
    if raw is None or api_value is None:
        return raw is None and api_value is None
    want = float(raw)
    return isinstance(api_value, int | float) and abs(api_value - want) <= 1e-9 * max(1.0, abs(want))


def exactness(
    admin_url: str, base_url: str, token: str, cases: Sequence[tuple[str, datetime, datetime]]
) -> list[ExactCase]:
    """For each (vehicle, from, to): the API's AC, DC, sample counts and average battery
    temperature against the raw rows."""
    out = []
    headers = {"Authorization": f"Bearer {token}"}
    with (
        psycopg.connect(admin_url) as conn,
        httpx.Client(base_url=base_url, headers=headers, timeout=60) as http,
    ):
        for vid, lo, hi in cases:
            body = http.get(
                f"/v1/analytics/performance/{vid}", params={"from": rfc3339(lo), "to": rfc3339(hi)}
            ).json()
            params = {"v": vid, "lo": lo, "hi": hi}
            dc = conn.execute(_RAW_DC, params).fetchone()
            ac = conn.execute(_RAW_AC, params).fetchone()
            assert dc is not None
            assert ac is not None
            checks = {
                "dc": _same(body.get("totalKwhDeliveredDc"), dc[0]),
                "ac": _same(body.get("totalKwhConsumedAc"), ac[0]),
                "dc samples": body.get("samples", {}).get("vehicle") == dc[1],
                "ac samples": body.get("samples", {}).get("meter") == ac[1],
                "battery temperature": _close(body.get("avgBatteryTemp"), dc[2]),
            }
            bad = [k for k, ok in checks.items() if not ok]
            detail = (
                f"AC {ac[0]} kWh / {ac[1]} readings, DC {dc[0]} kWh / {dc[1]} readings"
                if not bad
                else f"mismatch in {', '.join(bad)}: API {body}, raw AC {ac}, DC {dc}"
            )
            out.append(ExactCase(vid, lo, hi, list(body.get("meterIds", [])), not bad, detail))
    return out
