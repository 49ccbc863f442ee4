"""Per-device token buckets."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable


class DeviceRateLimiter:
    """A token bucket per device; a request takes one token per reading, all or none."""

    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_devices: int = 1_000_000,
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._max_devices = max_devices
        self._buckets: dict[str, tuple[float, float]] = {}  # device -> (tokens, at)

    def _level(self, device: str, now: float) -> float:
        tokens, at = self._buckets.get(device, (self._burst, now))
        return min(self._burst, tokens + (now - at) * self._rate)

    def try_take(self, wanted: Counter[str]) -> float:
        """Take the tokens if every device has enough; else take none.

        Returns 0 on success, else the seconds after which a retry can succeed.
        """
        now = self._clock()
        levels = {dev: self._level(dev, now) for dev in wanted}
        wait = 0.0
        for dev, n in wanted.items():
            if n > self._burst:
                return math.inf
            if levels[dev] < n:
                wait = max(wait, (n - levels[dev]) / self._rate)
        if wait > 0:
            return wait
        if len(self._buckets) + len(wanted) > self._max_devices:
            self._evict_full(now)
        for dev, n in wanted.items():
            self._buckets[dev] = (levels[dev] - n, now)
        return 0.0

    def _evict_full(self, now: float) -> None:
        """Forget buckets that have refilled: they hold no information."""
        full = [d for d in self._buckets if self._level(d, now) >= self._burst]
        for d in full:
            del self._buckets[d]
