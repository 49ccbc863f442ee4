"""A bound on records sent to Kafka and not yet acknowledged, across all requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ingest_gateway import metrics


class InFlightBudget:
    """Requests wait (within their deadline) while the bound is reached."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._used = 0
        self._freed = asyncio.Event()

    @asynccontextmanager
    async def hold(self, n: int) -> AsyncIterator[None]:
        """Hold ``n`` records' worth (a request above the bound holds all of it)."""
        n = min(n, self._limit)
        while self._used + n > self._limit:
            self._freed.clear()
            await self._freed.wait()
        self._used += n
        metrics.IN_FLIGHT.inc(n)
        try:
            yield
        finally:
            self._used -= n
            metrics.IN_FLIGHT.dec(n)
            self._freed.set()
