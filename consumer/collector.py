"""The collect step: records of ready partitions, gathered into one batch.

A batch holds, per partition, records that continue exactly from the partition's stored
offset. Whenever records are taken from Kafka and then not written (a rebalance, a
fence, a stop, a gap), the partitions concerned are sought back to their stored offsets
(:meth:`Collector.abandon`) before anything else is read from them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from consumer import metrics
from consumer.batch import Batch
from consumer.decode import add_records
from consumer.rebalance import Ownership
from consumer.retention import Retention
from consumer.settings import ConsumerSettings
from consumer.source import Record, poll
from schemas import KafkaDecoder

log = logging.getLogger(__name__)

IDLE_POLL_MS = 100  # with nothing read yet: one poll this long, then back to the worker


class Collector:
    """Builds batches of up to ``batch_max_records``, closed by :meth:`collect`'s rule."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        own: Ownership,
        retention: Retention,
        settings: ConsumerSettings,
        stop: asyncio.Event,
    ) -> None:
        self._consumer = consumer
        self._own = own
        self._retention = retention
        self._max_records = settings.batch_max_records
        self._max_wait_s = settings.batch_max_wait_ms / 1000
        self._quiet_ms = settings.batch_quiet_ms
        self._stop = stop
        self._decode = KafkaDecoder(settings)

    async def collect(
        self, after: Batch | None = None, writing: asyncio.Future[Any] | None = None
    ) -> Batch | None:
        """A decoded batch (maybe empty), or None when the assignment changed meanwhile.

        ``after`` is a batch still being written (``writing`` its write): this one continues
        where it ends, and is only valid if it commits (the worker abandons this one
        otherwise).

        A batch closes when it is full; otherwise only while no write is in flight (a batch
        closed earlier would only wait for it), and then when Kafka has had nothing more for
        ``batch_quiet_ms`` (a request's records have all arrived) or ``batch_max_wait_ms``
        after its first message (records keep coming). With nothing to read, an empty batch
        comes back after one idle poll, so that the worker can look at its partitions.
        """
        self._resume_ready()
        generation = self._own.generation
        batch = Batch(generation=generation)
        base = after.next_offsets if after is not None else {}
        deadline = 0.0  # set by the batch's first message
        oldest = self._retention.oldest_day()

        def write_in_flight() -> bool:
            return writing is not None and not writing.done()

        while batch.messages < self._max_records and not self._stop.is_set():
            if not batch.messages:
                timeout_ms = IDLE_POLL_MS
            elif write_in_flight():
                timeout_ms = self._quiet_ms  # look at the write again this often
            else:
                left_ms = max(0, int((deadline - time.monotonic()) * 1000))
                timeout_ms = min(left_ms, self._quiet_ms)
            data = await poll(self._consumer, timeout_ms, self._max_records - batch.messages)
            if self._own.generation != generation:
                self.abandon(batch, "rebalance")
                self._unread(data)
                return None
            had = batch.messages
            for tp, records in data.items():
                if not records or not self._own.ready(tp):
                    continue  # a pending partition is sought again before it is read
                kept = self._contiguous(tp, records, batch, base)
                if kept is None:
                    self.abandon(batch, "gap")
                    self._unread(data)
                    return None
                if kept:
                    batch.expected.setdefault(tp, base.get(tp, self._own.expected[tp]))
                    add_records(batch, kept, oldest, self._decode)
                    batch.next_offsets[tp] = kept[-1].offset + 1
            if not batch.messages:
                break  # an idle poll: nothing to write
            if not had:
                deadline = time.monotonic() + self._max_wait_s
            if write_in_flight():
                continue  # the write in flight sets the pace: keep filling this batch
            if batch.messages == had or time.monotonic() >= deadline:
                break  # quiet for batch_quiet_ms, or batch_max_wait_ms since the first message
        return batch

    def abandon(self, batch: Batch, why: str) -> None:
        """Drop a batch unwritten: its partitions go back to their stored offsets."""
        if not batch.next_offsets:
            return
        metrics.ABANDONED.labels(why).inc()
        log.info("batch abandoned unwritten", extra={"why": why, "messages": batch.messages})
        self._own.mark_stale(batch.next_offsets)

    def _unread(self, data: Mapping[TopicPartition, list[Record]]) -> None:
        """Records taken from Kafka that will not be written: Kafka's position is past
        them, so their partitions go back to their stored offsets too.

        Without this, a partition just sought (``fresh``) would next see records past
        its stored offset and take the difference for Kafka's retention: a silent loss.
        The generation can change during a poll through no rebalance at all: the batch
        being written meanwhile may be abandoned (fenced), which marks partitions stale.
        """
        taken = [tp for tp, records in data.items() if records]
        if taken:
            self._own.mark_stale(taken)

    def _resume_ready(self) -> None:
        ready = [tp for tp in self._consumer.paused() if self._own.ready(tp)]
        if ready:
            self._consumer.resume(*ready)

    def _contiguous(
        self,
        tp: TopicPartition,
        records: list[Record],
        batch: Batch,
        base: Mapping[TopicPartition, int] = MappingProxyType({}),
    ) -> list[Record] | None:
        """The records, if they continue exactly where the stored offset (or batch) ends.

        None means a gap that must not be skipped: the partition is re-sought. Right
        after a seek a gap is Kafka's own retention and is accepted, loudly.
        """
        position = batch.next_offsets.get(tp, base.get(tp, self._own.expected.get(tp)))
        fresh = tp in self._own.fresh
        self._own.fresh.discard(tp)
        first = records[0].offset
        if position is None or first == position:
            return records
        where = f"{tp.topic}[{tp.partition}]"
        if first < position:
            metrics.OFFSET_GAPS.labels("overlap_skipped").inc()
            return [r for r in records if r.offset >= position]
        if fresh:
            metrics.OFFSET_GAPS.labels("gone_from_kafka").inc()
            log.error(
                "records are no longer in Kafka; continuing after them",
                extra={"partition": where, "missing_from": position, "missing_to": first - 1},
            )
            return records
        metrics.OFFSET_GAPS.labels("resought").inc()
        log.warning(
            "records do not continue the stored offset; seeking back",
            extra={"partition": where, "expected": position, "got": first},
        )
        return None
