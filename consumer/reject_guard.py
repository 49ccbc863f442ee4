"""Halts the worker when rejects dominate recent messages (a bad deploy, not bad data)."""

from __future__ import annotations

from collections import deque

from consumer.batch import Batch, Reject
from consumer.errors import RejectFloodError

# Rejects for a time rule say the reading is too old or too new for the settings, not that
# this worker is broken: readings an older gateway acknowledged before retention or a
# floor came in, or ones produced around the gateway. They go to ingest_rejects like any
# other, but never count towards a halt (a halt would only repeat on every restart).
NEUTRAL_REASONS = frozenset({"expired", "timestamp_future", "timestamp_floor", "timestamp_max_past_age"})


def _counted(batch: Batch) -> list[Reject]:
    return [r for r in batch.rejects if r.reason not in NEUTRAL_REASONS]


class RejectGuard:
    """Sliding window over the outcomes (stored or rejected) of the last messages.

    Rejects for the reasons in ``NEUTRAL_REASONS`` are left out of the window.
    """

    def __init__(self, window: int, max_ratio: float, min_messages: int) -> None:
        self._outcomes: deque[bool] = deque(maxlen=window)
        self._max_ratio = max_ratio
        self._min_messages = min(min_messages, window)
        self._last_reason = "none"

    def check(self, batch: Batch) -> None:
        """Raise :class:`RejectFloodError` if, counting ``batch``, rejects exceed the share.

        The window only moves forward when the batch commits (:meth:`commit`), so a
        retried batch is judged the same way each time.
        """
        counted = _counted(batch)
        outcomes = list(self._outcomes)
        outcomes.extend([False] * (batch.readings + len(batch.sessions)))
        outcomes.extend([True] * len(counted))
        recent = outcomes[-(self._outcomes.maxlen or 1) :]
        rejected = sum(recent)
        if len(recent) >= self._min_messages and rejected > self._max_ratio * len(recent):
            example = counted[0] if counted else None
            reason = f"{example.reason}: {example.detail}" if example else self._last_reason
            raise RejectFloodError(rejected, len(recent), self._max_ratio, reason)

    def commit(self, batch: Batch) -> None:
        """Record a committed batch's outcomes."""
        counted = _counted(batch)
        self._outcomes.extend([False] * (batch.readings + len(batch.sessions)))
        self._outcomes.extend([True] * len(counted))
        if counted:
            self._last_reason = f"{counted[-1].reason}: {counted[-1].detail}"
