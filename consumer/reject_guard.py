"""Halts the worker when rejects dominate recent messages (a bad deploy, not bad data)."""

from __future__ import annotations

from collections import deque

from consumer.batch import Batch
from consumer.errors import RejectFloodError


class RejectGuard:
    """Sliding window over the outcomes (stored or rejected) of the last messages."""

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
        outcomes = list(self._outcomes)
        outcomes.extend([False] * (len(batch.meters) + len(batch.vehicles)))
        outcomes.extend([True] * len(batch.rejects))
        recent = outcomes[-(self._outcomes.maxlen or 1) :]
        rejected = sum(recent)
        if len(recent) >= self._min_messages and rejected > self._max_ratio * len(recent):
            example = batch.rejects[0] if batch.rejects else None
            reason = f"{example.reason}: {example.detail}" if example else self._last_reason
            raise RejectFloodError(rejected, len(recent), self._max_ratio, reason)

    def commit(self, batch: Batch) -> None:
        """Record a committed batch's outcomes."""
        self._outcomes.extend([False] * (len(batch.meters) + len(batch.vehicles)))
        self._outcomes.extend([True] * len(batch.rejects))
        if batch.rejects:
            self._last_reason = f"{batch.rejects[-1].reason}: {batch.rejects[-1].detail}"
