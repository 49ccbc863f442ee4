"""The fleet ranking's answer cache (pure logic, a settable clock)."""

from __future__ import annotations

import asyncio

import pytest

from analytics_api.answer_cache import AnswerCache


class Source:
    """Answers 1, 2, 3, ... one per query; a query takes until ``release`` is set."""

    def __init__(self) -> None:
        self.queries = 0
        self.release = asyncio.Event()
        self.release.set()
        self.fail = False

    async def __call__(self) -> int:
        self.queries += 1
        n = self.queries
        await self.release.wait()
        if self.fail:
            raise RuntimeError("database down")
        return n


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_kept_for_ttl_then_asked_again() -> None:
    clock, source = FakeClock(), Source()
    cache: AnswerCache[int] = AnswerCache(10, clock=clock)
    assert await cache.get("w", source) == 1
    clock.now += 4
    assert await cache.get("w", source) == 1  # fresh: no query
    assert await cache.get("other", source) == 2  # another key, its own query
    clock.now += 7  # 11 s after the first query started: too old, asked again
    assert await cache.get("w", source) == 3
    assert source.queries == 3


async def test_refreshed_ahead_without_waiting() -> None:
    clock, source = FakeClock(), Source()
    cache: AnswerCache[int] = AnswerCache(10, clock=clock)
    assert await cache.get("w", source) == 1
    clock.now += 6  # past half the ttl: answered from the cache, a refresh starts
    source.release.clear()
    assert await cache.get("w", source) == 1
    assert await cache.get("w", source) == 1  # one refresh at a time
    await asyncio.sleep(0)
    assert source.queries == 2
    source.release.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    clock.now += 5  # 11 s after the first query, 5 s after the refresh started
    assert await cache.get("w", source) == 2
    assert source.queries == 2


async def test_concurrent_misses_share_one_query_and_failures_are_not_kept() -> None:
    clock, source = FakeClock(), Source()
    cache: AnswerCache[int] = AnswerCache(10, clock=clock)
    source.release.clear()
    waiting = [asyncio.create_task(cache.get("w", source)) for _ in range(4)]
    await asyncio.sleep(0)
    source.release.set()
    assert await asyncio.gather(*waiting) == [1, 1, 1, 1]
    assert source.queries == 1
    clock.now += 20
    source.fail = True
    with pytest.raises(RuntimeError, match="database down"):
        await cache.get("w", source)
    source.fail = False
    assert await cache.get("w", source) == 3  # the failure was not kept


async def test_off_with_zero_ttl() -> None:
    source = Source()
    cache: AnswerCache[int] = AnswerCache(0, clock=FakeClock())
    assert [await cache.get("w", source) for _ in range(3)] == [1, 2, 3]


async def test_cancel_stops_the_running_queries() -> None:
    clock, source = FakeClock(), Source()
    cache: AnswerCache[int] = AnswerCache(10, clock=clock)
    source.release.clear()
    waiting = asyncio.create_task(cache.get("w", source))
    for _ in range(3):  # the request's task, then the query's task
        await asyncio.sleep(0)
    assert source.queries == 1
    await asyncio.wait_for(cache.cancel(), 2)  # at shutdown: the query does not outlive the pool
    with pytest.raises(asyncio.CancelledError):
        await waiting
    source.release.set()
    assert await cache.get("w", source) == 2  # nothing was kept; a new query
