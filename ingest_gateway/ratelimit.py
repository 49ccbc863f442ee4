"""Per-device token buckets."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping


class DeviceRateLimiter:
    """A token bucket per device; a request takes one token per reading, all or none.

    A bucket that has refilled holds no information, so full buckets are forgotten each
    time the table has doubled since the last sweep (at least ``sweep_floor`` devices):
    the table stays within about twice the devices that posted in the last refill time
    (``burst / rate`` at most), not every device ever seen, at O(1) amortised per device.
    ``max_devices`` is the hard cap. ``clock`` is injected so tests drive time instead
    of sleeping.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_devices: int = 1_000_000,
        sweep_floor: int = 10_000,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max_devices = max_devices
        self._sweep_floor = sweep_floor
        self._sweep_at = min(max_devices, sweep_floor)
        self._buckets: dict[str, tuple[float, float]] = {}  # device -> (tokens, at)

    def _level(self, device: str, now: float) -> float:
        tokens, at = self._buckets.get(device, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.rate)

    def over_burst(self, wanted: Mapping[str, int]) -> tuple[str, int] | None:
        """A device with more readings than its bucket can ever hold, and how many."""
        for dev, n in wanted.items():
            if n > self.burst:
                return dev, n
        return None

    def try_take(self, wanted: Mapping[str, int]) -> float:
        """Take the tokens if every device has enough; else take none.

        Returns 0 on success, else the seconds after which a retry can succeed.
        Counts above the burst must be refused first with :meth:`over_burst`.
        """
        now, burst, rate, buckets = self._clock(), float(self.burst), self.rate, self._buckets
        left: list[tuple[str, float]] = []
        short = 0.0  # the largest missing number of tokens
        for dev, n in wanted.items():
            bucket = buckets.get(dev)
            level = burst if bucket is None else min(burst, bucket[0] + (now - bucket[1]) * rate)
            short = max(short, n - level)
            left.append((dev, level - n))
        if short > 0:
            return short / rate
        if len(buckets) + len(left) > self._sweep_at:
            self._evict_full(now)
            self._sweep_at = min(self._max_devices, max(self._sweep_floor, 2 * (len(buckets) + len(left))))
        for dev, tokens in left:
            buckets[dev] = (tokens, now)
        return 0.0

    def give_back(self, wanted: Mapping[str, int]) -> None:
        """Return tokens taken for readings that were not accepted after all (e.g. a 503)."""
        now = self._clock()
        for dev, n in wanted.items():
            if dev in self._buckets:
                self._buckets[dev] = (min(float(self.burst), self._level(dev, now) + n), now)

    def _evict_full(self, now: float) -> None:
        """Forget buckets that have refilled: they hold no information."""
        full = [d for d in self._buckets if self._level(d, now) >= self.burst]
        for d in full:
            del self._buckets[d]
