"""Rate limit for the Kafka client's log lines.

While a broker is away aiokafka logs the same few errors hundreds of times a second;
each distinct message now passes at most once per interval, carrying how many copies
were held back (``suppressed``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

MAX_KEYS = 1000


class Throttle(logging.Filter):
    """Passes each (logger, level, message template) under ``prefix`` once per ``every`` s."""

    def __init__(
        self, prefix: str = "aiokafka", every: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._prefix = prefix
        self._every = every
        self._clock = clock
        self._last: dict[tuple[str, int, str], float] = {}
        self._held: dict[tuple[str, int, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self._prefix):
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._every:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        if len(self._last) >= MAX_KEYS:
            self._last.clear()
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            record.suppressed = held
        return True


def install(every: float = 10.0) -> None:
    """Attach one throttle to every handler of the root logger."""
    throttle = Throttle(every=every)
    for handler in logging.getLogger().handlers:
        handler.addFilter(throttle)
