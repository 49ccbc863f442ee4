"""The fleet questions of the benchmark: cold answers (the API's answer cache off, every request
computed), a window asked again and again, and a dashboard polling less often than the cache
keeps an answer (``FLEET_CACHE_TTL_S``, 10 s by default)."""

from __future__ import annotations

import asyncio
import os
import random
import time
from datetime import datetime, timedelta

import httpx

from .measure import WEEK, WINDOW, Latency, Request, random_window, rfc3339

FLEET_ENERGY = "fleet energy"
FLEET_ENERGY_WEEK = "fleet energy, 7-day windows"
DASHBOARD_DAY = "fleet ranking + energy, last 24 h, polled every {every:.0f} s"
DASHBOARD_WEEK = "fleet ranking + energy, last 7 days, polled every {every:.0f} s"
RANKING = "/v1/analytics/fleet/efficiency"
ENERGY = "/v1/fleet/energy"
POLL_EVERY_S = 12.0
POLLS = 6


def energy_requests(
    rng: random.Random, history: tuple[datetime, datetime], count: int, length: timedelta = WINDOW
) -> list[Request]:
    """``GET /v1/fleet/energy`` over random windows inside the history."""
    out = []
    for _ in range(count):
        lo, hi = random_window(rng, *history, length)
        out.append(Request(ENERGY, {"from": rfc3339(lo), "to": rfc3339(hi)}))
    return out


def dashboard_window(history: tuple[datetime, datetime], length: timedelta) -> dict[str, str]:
    """The last ``length`` of the history, as a dashboard opened 7 minutes before its end asks."""
    hi = history[1] - timedelta(minutes=53)
    return {"from": rfc3339(hi - length), "to": rfc3339(hi)}


async def _polls(
    base_url: str, token: str, label: str, params: dict[str, str], every_s: float, polls: int
) -> Latency:
    headers = {"Authorization": f"Bearer {token}"}
    millis: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:

        async def one(path: str, query: dict[str, str]) -> float:
            started = time.perf_counter()
            resp = await client.get(path, params=query)
            elapsed = (time.perf_counter() - started) * 1000
            if resp.status_code != 200:
                raise RuntimeError(f"GET {path} {query} -> {resp.status_code}: {resp.text[:300]}")
            return elapsed

        async def poll() -> list[float]:
            return list(await asyncio.gather(one(RANKING, {**params, "limit": "50"}), one(ENERGY, params)))

        await poll()  # the dashboard opens: the window's first answer is computed while it waits
        load = os.getloadavg()[0]
        started = time.perf_counter()
        for _ in range(polls):
            await asyncio.sleep(every_s)
            millis += await poll()
        wall = time.perf_counter() - started
    return Latency(label.format(every=every_s), millis, wall, 2, load)


def dashboard_polls(base_url: str, token: str, history: tuple[datetime, datetime], *, week: bool) -> Latency:
    """A dashboard's ranking and energy tile for the last 24 h (or 7 days), asked together every
    ``POLL_EVERY_S`` (longer than the answer cache's 10 s), ``POLLS`` times after the first."""
    length, label = (WEEK, DASHBOARD_WEEK) if week else (WINDOW, DASHBOARD_DAY)
    params = dashboard_window(history, length)
    return asyncio.run(_polls(base_url, token, label, params, POLL_EVERY_S, POLLS))
