"""Partition ownership: what this worker may write, and from which stored offset."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

from aiokafka import ConsumerRebalanceListener
from aiokafka.structs import TopicPartition

from consumer import metrics

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer


class Ownership(ConsumerRebalanceListener):  # type: ignore[misc]
    """Tracks assigned partitions and the stored offset each batch must start from.

    Newly assigned partitions are paused and *pending* until the worker has read their
    stored offsets from PostgreSQL and sought to them. Every change of assignment bumps
    ``generation``; a batch collected under an older generation is abandoned, never
    written. ``lock`` is held while a batch is written, so a revocation waits for an
    in-flight commit to finish (or to fail) before the partitions are released.

    ``expected`` is, per ready partition, the stored offset that the next batch starts
    from, which is also the consumer's position between batches. ``fresh`` holds the
    partitions sought since their last records: the first records after a seek may
    start past the stored offset (Kafka's retention removed what was in between).
    """

    def __init__(self) -> None:
        self.generation = 0
        self.expected: dict[TopicPartition, int | None] = {}
        self.pending: set[TopicPartition] = set()
        self.fresh: set[TopicPartition] = set()
        self.lock = asyncio.Lock()
        self.consumer: AIOKafkaConsumer | None = None

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self.lock:
            self.generation += 1
            metrics.ASSIGNED.set(0)  # aiokafka's protocol is eager: everything is revoked
            for tp in revoked:
                self.expected.pop(tp, None)
                self.pending.discard(tp)
                self.fresh.discard(tp)
                metrics.forget_partition(tp.topic, tp.partition)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Nothing believed before survives an assignment: every assigned partition is
        re-read from its stored offset.

        aiokafka does not always announce a revocation first (a rejoin whose previous
        assignment was reset revokes nothing), and meanwhile another replica may have
        owned and moved a partition. A kept ``expected`` (and ``fresh``) would then be
        stale: the next records would seem to skip ahead of a stored offset that is not
        the stored offset any more.
        """
        async with self.lock:  # a write in flight finishes (or fails) first
            self.generation += 1
            assigned = set(assigned)
            for tp in set(self.expected) - assigned:
                metrics.forget_partition(tp.topic, tp.partition)
            self.expected.clear()
            self.fresh.clear()
            self.pending = assigned
            metrics.ASSIGNED.set(len(assigned))
            if self.consumer is not None and assigned:
                self.consumer.pause(*assigned)

    def ready(self, tp: TopicPartition) -> bool:
        """Whether records of ``tp`` may go into a batch."""
        return tp in self.expected and tp not in self.pending

    def mark_stale(self, tps: Iterable[TopicPartition]) -> None:
        """Forget what we believed of these partitions; re-read their stored offsets.

        Used whenever records were taken from Kafka but will not be written (an
        abandoned batch): the consumer's position is past them, the stored offset is not.
        """
        tps = list(tps)
        if not tps:
            return
        for tp in tps:
            self.expected.pop(tp, None)
        self.pending |= set(tps)
        self.generation += 1
        if self.consumer is not None:
            owned = self.consumer.assignment()
            self.consumer.pause(*[tp for tp in tps if tp in owned])
