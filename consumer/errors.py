"""The consumer's errors: recoverable ones are retried, fatal ones stop the worker."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiokafka.structs import TopicPartition


class ConsumerError(Exception):
    """Base of every consumer error."""


class RecoverableError(ConsumerError):
    """The batch can be retried as it is (database unreachable, deadlock, ...)."""


class FatalError(ConsumerError):
    """The worker must stop without committing anything more."""


class DatabaseRejectedError(FatalError):
    """PostgreSQL refused the batch for a reason that retrying will not change."""

    def __init__(self, sqlstate: str | None, message: str) -> None:
        super().__init__(f"database rejected the batch (SQLSTATE {sqlstate}): {message}")
        self.sqlstate = sqlstate


class KafkaFatalError(FatalError):
    """Kafka refused this worker for good (authorisation, a duplicate instance id)."""


@dataclass(frozen=True, slots=True)
class StalePartition:
    """A partition whose stored offset is not the one the batch started from."""

    topic: str
    partition: int
    expected: int | None
    actual: int | None

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


class FencedError(ConsumerError):
    """A partition's stored offset moved under the batch: the transaction was rolled back."""

    def __init__(self, stale: list[StalePartition]) -> None:
        names = ", ".join(f"{s.topic}[{s.partition}] {s.expected}->{s.actual}" for s in stale)
        super().__init__(f"stale batch rolled back: stored offsets moved ({names})")
        self.stale = stale

    def already_committed(self, next_offsets: Mapping[TopicPartition, int]) -> bool:
        """Whether every partition already stands where this batch would have put it.

        That is the mark of an earlier attempt of the same batch whose COMMIT succeeded
        although its answer was lost (a connection cut or a timeout at that moment).
        """
        moved = {s.tp: s.actual for s in self.stale}
        return moved.keys() == next_offsets.keys() and all(
            moved[tp] == off for tp, off in next_offsets.items()
        )


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
