"""The consumer's errors: recoverable ones are retried, fatal ones stop the worker."""

from __future__ import annotations

from dataclasses import dataclass


class ConsumerError(Exception):
    """Base of every consumer error."""


class RecoverableError(ConsumerError):
    """The batch can be retried as it is (database unreachable, deadlock, ...)."""


class FatalError(ConsumerError):
    """The worker must stop without committing anything more."""


@dataclass(frozen=True, slots=True)
class StalePartition:
    """A partition whose stored offset moved under us."""

    topic: str
    partition: int
    expected: int | None


class FencedError(ConsumerError):
    """Another owner moved a partition's stored offset: this batch is stale."""

    def __init__(self, stale: list[StalePartition]) -> None:
        names = ", ".join(f"{s.topic}[{s.partition}]" for s in stale)
        super().__init__(f"stale batch: another consumer owns {names}; rolled back")
        self.stale = stale


class RejectFloodError(FatalError):
    """Rejects dominate recent messages: probably a bad deploy, not bad devices."""

    def __init__(self, rejected: int, seen: int, max_ratio: float, sample_reason: str) -> None:
        super().__init__(
            f"{rejected} of the last {seen} messages were rejected (limit {max_ratio:.0%}); "
            f"halting without advancing offsets. Example reason: {sample_reason}"
        )
        self.rejected = rejected
        self.seen = seen
        self.max_ratio = max_ratio
