"""A bound on records handed to the producer and not yet settled, across all requests.

A record holds its share from the moment it is queued until Kafka acknowledged it or
the producer gave up on it; not until its request answered. A request that timed out
(503) therefore keeps holding while its records are still queued, so a Kafka outage
cannot grow the producer's buffers without bound: once full, new requests wait here
(within their deadline) and get a 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from ingest_gateway import metrics


class InFlightBudget:
    """Records in flight, bounded by ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used = 0
        self._freed = asyncio.Event()

    @property
    def used(self) -> int:
        """Records currently held."""
        return self._used

    async def acquire(self, n: int) -> int:
        """Wait until ``n`` records fit (a request above the bound takes all of it); returns the share."""
        n = min(n, self.limit)
        while self._used + n > self.limit:
            self._freed.clear()
            await self._freed.wait()
        self._used += n
        metrics.IN_FLIGHT.inc(n)
        return n

    def release(self, n: int) -> None:
        """Give back a share taken by :meth:`acquire`."""
        self._used -= n
        metrics.IN_FLIGHT.dec(n)
        self._freed.set()

    def release_when_settled(self, futures: Sequence[asyncio.Future[Any]], n: int) -> asyncio.Future[None]:
        """Release ``n`` once every future is done (at once if there are none).

        Returns a future that resolves at the same moment: cheaper to await than
        ``asyncio.wait``, and cancelling it (a deadline) releases nothing early.
        """
        all_done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        pending = len(futures)

        def settled(fut: asyncio.Future[Any] | None) -> None:
            nonlocal pending
            if fut is not None and not fut.cancelled():
                fut.exception()  # retrieved here, so asyncio never logs it as unhandled
            pending -= 1
            if pending <= 0:
                self.release(n)
                if not all_done.done():
                    all_done.set_result(None)

        if not futures:
            settled(None)
        for fut in futures:
            fut.add_done_callback(settled)
        return all_done
