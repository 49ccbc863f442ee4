"""A short-lived cache of whole answers, for the fleet ranking.

A fleet ranking reads a window of rollups for every vehicle; a dashboard asks for the same
(hour-rounded) window again and again. An answer is served for ``ttl_s`` seconds after its
query started, never longer: it is the exact answer of a moment at most ``ttl_s`` old, and
may miss data committed since. Once half of that has passed, the next request starts a
refresh in the background and is still answered from the kept answer, so a window asked
for at least every ``ttl_s / 2`` seconds is never waited for (as long as its query takes
less than that). Requests for a key whose query is running and whose kept answer is too
old wait for that query instead of starting their own. A failed query is not kept (a
failed background refresh is logged; the kept answer expires as usual). ``ttl_s == 0``: off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_ENTRIES = 64

log = logging.getLogger(__name__)


class AnswerCache(Generic[T]):
    """Answers by key for ``ttl_s`` seconds, refreshed ahead; one query per key at a time."""

    def __init__(
        self, ttl_s: float, *, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self._max = max_entries
        self._clock = clock
        self._done: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()
        self._running: dict[Hashable, asyncio.Task[T]] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """A kept answer younger than ``ttl_s``, else the (shared) answer of a new query."""
        if self.ttl_s <= 0:
            return await compute()
        kept = self._done.get(key)
        age = self._clock() - kept[0] if kept is not None else None
        if kept is not None and age is not None and age < self.ttl_s:
            if age >= self.ttl_s / 2 and key not in self._running:
                self._start(key, compute).add_done_callback(_log_failure)
            return kept[1]
        task = self._running.get(key) or self._start(key, compute)
        return await asyncio.shield(task)

    def age(self, key: Hashable) -> float | None:
        """Seconds since the kept answer's query started; ``None`` when none is kept."""
        kept = self._done.get(key)
        return self._clock() - kept[0] if kept is not None else None

    async def refresh(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """A new answer (or the one being computed): for a refresher that keeps keys warm."""
        task = self._running.get(key) or self._start(key, compute)
        return await asyncio.shield(task)

    async def cancel(self) -> None:
        """Cancel the queries running (at shutdown, before the pool closes)."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _start(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> asyncio.Task[T]:
        started = self._clock()

        async def run() -> T:
            try:
                answer = await compute()
                self._keep(key, started, answer)
                return answer
            finally:
                del self._running[key]

        task = asyncio.get_running_loop().create_task(run())
        self._running[key] = task
        return task

    def _keep(self, key: Hashable, started: float, answer: T) -> None:
        kept = self._done.get(key)
        if kept is not None and kept[0] > started:
            return  # a newer query's answer is already kept
        self._done[key] = (started, answer)
        self._done.move_to_end(key)
        now = self._clock()
        for k in [k for k, (t, _) in self._done.items() if now - t >= self.ttl_s]:
            del self._done[k]
        while len(self._done) > self._max:
            self._done.popitem(last=False)


def _log_failure(task: asyncio.Task[object]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("background refresh of a cached answer failed: %s", exc)
