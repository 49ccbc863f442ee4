"""The fleet's answer for a window (its ranking and its energy totals), kept warm.

One query per hour-rounded window (``analytics_fleet_efficiency.sql``) ranks the fleet and
returns its first ``MAX_LIMIT`` lines, each carrying the totals over every vehicle; the
ranking (any ``limit``) and ``GET /v1/fleet/energy`` are both cut from that one answer.

Answers are kept in an :class:`AnswerCache` for ``FLEET_CACHE_TTL_S`` (never served older).
A background refresher recomputes every window asked for within ``FLEET_WARM_FOR_S``, once
its answer is half that TTL old, so a window that a dashboard keeps asking for is computed
while nobody waits, however seldom it is asked within that time. A window that ended at the
clock's current hour when asked follows the clock: half a TTL before the hour turns, the same
window an hour later is computed too, and the old one is let go once the hour has turned.

Each answer carries ``as_of``: the API's clock when its query started; it holds every reading
committed before then and may miss those committed since (at most ``FLEET_CACHE_TTL_S``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from analytics_api import metrics
from analytics_api.answer_cache import AnswerCache
from analytics_api.db import Database, Row
from analytics_api.window import Clock, ceil_to

log = logging.getLogger(__name__)

MAX_LIMIT = 1000
"""Ranking lines kept per answer: the route's largest ``limit``."""
FIRST_LINES = 100
"""Lines read of a stored answer unless a request asks for more (reading 1,000 costs ~7 ms)."""
MAX_WARM = 8
"""Windows kept warm at most (the most recently asked)."""
MAX_KEPT = 16
"""Answers kept at most (each up to ``MAX_LIMIT`` lines, about 1.5 MB)."""
HOUR = timedelta(hours=1)
RANKING_QUERY = "analytics_fleet_efficiency"
"""The ranking's named query: two hourly rows per device (running totals) for any window."""
STORED_QUERY = "fleet_answer_stored"
"""The window's stored answer (:mod:`analytics_api.answer_store`), while nothing it misses."""

Window = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class FleetTotals:
    """The fleet over a window: every vehicle with DC readings or a mapped meter."""

    vehicles: int
    rated: int  # with AC energy (a ratio)
    low_efficiency: int  # rated, DC / AC below the threshold
    ac_kwh: Decimal
    dc_kwh: Decimal


@dataclass(frozen=True, slots=True)
class FleetAnswer:
    """A window's ranking (its first lines, worst first) and totals, as of ``as_of``; ``complete``
    when ``rows`` holds every line up to ``MAX_LIMIT``."""

    as_of: datetime
    rows: list[Row]
    totals: FleetTotals
    complete: bool = True


class Compute(Protocol):
    """The answer of a window with at least its first ``lines`` lines (when it has them)."""

    def __call__(self, start: datetime, end: datetime, lines: int = ...) -> Awaitable[FleetAnswer]: ...


def database_compute(db: Database, clock: Clock, threshold: float) -> Compute:
    """The answer of a window: its stored answer when one is served (exact as of now: no
    change inside the window since it was computed), else the ranking query."""

    async def compute(start: datetime, end: datetime, lines: int = FIRST_LINES) -> FleetAnswer:
        as_of = clock()
        want = min(MAX_LIMIT, max(lines, FIRST_LINES))
        params = {"from": start, "to": end, "limit": want, "threshold": threshold}
        rows = await db.fetch_all(STORED_QUERY, params)
        metrics.FLEET_ANSWERS.labels("stored" if rows else "live").inc()
        complete = True
        if rows and rows[0]["vehicle_id"] is None:  # stored, no vehicle ranked
            rows = []
        elif rows:
            complete = len(rows) < want or want == MAX_LIMIT
        else:
            rows = await db.fetch_all(RANKING_QUERY, params | {"limit": MAX_LIMIT})
        if not rows:
            return FleetAnswer(as_of, rows, FleetTotals(0, 0, 0, Decimal(0), Decimal(0)))
        r = rows[0]
        totals = FleetTotals(
            vehicles=int(r["total"]),
            rated=int(r["fleet_rated"]),
            low_efficiency=int(r["fleet_low"]),
            ac_kwh=r["fleet_ac_kwh"],
            dc_kwh=r["fleet_dc_kwh"],
        )
        return FleetAnswer(as_of, rows, totals, complete)

    return compute


@dataclass(slots=True)
class _Warm:
    asked: float  # monotonic time it was last asked for
    follows: bool  # ended at the clock's current hour when asked


class FleetAnswers:
    """Answers by window for ``ttl_s``; windows asked within ``warm_for_s`` kept warm."""

    def __init__(
        self,
        compute: Compute,
        clock: Clock,
        *,
        ttl_s: float,
        warm_for_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._compute = compute
        self._clock = clock
        self._monotonic = monotonic
        self._cache: AnswerCache[FleetAnswer] = AnswerCache(ttl_s, max_entries=MAX_KEPT, clock=monotonic)
        self.ttl_s = ttl_s
        self.warm_for_s = warm_for_s if ttl_s > 0 else 0.0
        self._warm: dict[Window, _Warm] = {}
        self._task: asyncio.Task[None] | None = None

    async def get(self, start: datetime, end: datetime, lines: int = MAX_LIMIT) -> FleetAnswer:
        """The window's answer with its first ``lines`` lines (as many as it has): a kept one
        younger than ``ttl_s``, else a new one. A kept answer with fewer lines (a stored
        answer is read ``FIRST_LINES`` at a time) is read again whole."""
        if self.warm_for_s > 0:
            self._warm.pop((start, end), None)
            self._warm[(start, end)] = _Warm(self._monotonic(), end == ceil_to(self._clock(), HOUR))
            while len(self._warm) > MAX_WARM:
                del self._warm[next(iter(self._warm))]
        answer = await self._cache.get((start, end), lambda: self._compute(start, end, lines))
        if not answer.complete and len(answer.rows) < lines:
            answer = await self._cache.refresh((start, end), lambda: self._compute(start, end, MAX_LIMIT))
            if not answer.complete and len(answer.rows) < lines:  # a short one was being computed
                answer = await self._compute(start, end, MAX_LIMIT)
        return answer

    def warm_windows(self) -> list[Window]:
        """The windows kept warm, least recently asked first."""
        return list(self._warm)

    async def refresh_once(self) -> None:
        """Let go of windows not asked for ``warm_for_s`` (or left behind by the clock), add
        the next hour's window of those that follow the clock, and recompute, one after
        another, those whose answer is missing or half a TTL old."""
        now = self._monotonic()
        current = ceil_to(self._clock(), HOUR)
        ahead = ceil_to(self._clock() + timedelta(seconds=self.ttl_s / 2), HOUR)
        for (start, end), w in list(self._warm.items()):
            if now - w.asked > self.warm_for_s:
                del self._warm[(start, end)]
                continue
            if w.follows and end < ahead:
                shift = ahead - end
                self._warm.setdefault((start + shift, end + shift), _Warm(w.asked, True))
                if end < current:
                    del self._warm[(start, end)]
        for start, end in list(self._warm):
            age = self._cache.age((start, end))
            if age is not None and age < self.ttl_s / 2:
                continue
            try:
                await self._cache.refresh((start, end), functools.partial(self._compute, start, end))
            except Exception as exc:  # the refresher keeps running; requests see the errors
                log.warning("refresh of the fleet answer [%s, %s) failed: %s", start, end, exc)

    async def _run(self) -> None:
        period = max(self.ttl_s / 4, 0.05)
        while True:
            await asyncio.sleep(period)
            await self.refresh_once()

    def start(self) -> None:
        """Start the background refresher (nothing when the cache is off)."""
        if self.warm_for_s > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop the background refresher and the queries running."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._cache.cancel()
