"""The consumer loop: collect a batch, write it in one transaction, repeat.

The chain, from Kafka to PostgreSQL: ``getmany`` (collect) → :func:`add_records`
(decode, validate, reject) → :class:`RejectGuard` (halt on a flood) →
:class:`BatchWriter` (one transaction with the offsets) → Kafka commit (for lag
dashboards only; PostgreSQL holds the offsets that count).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, date, datetime, timedelta

from aiokafka import AIOKafkaConsumer
from aiokafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from consumer import metrics
from consumer.backoff import Backoff
from consumer.batch import Batch
from consumer.decode import add_records
from consumer.errors import FencedError, RecoverableError
from consumer.rebalance import Ownership
from consumer.reject_guard import RejectGuard
from consumer.settings import ConsumerSettings
from consumer.writer import BatchWriter, WriteResult
from schemas.topics import ALL_TOPICS

log = logging.getLogger(__name__)

WRITE_TIMEOUT_S = 120.0


class Worker:
    """One replica of the consumer group."""

    def __init__(self, settings: ConsumerSettings) -> None:
        self._s = settings
        self._stop = asyncio.Event()
        self._own = Ownership()
        self._writer = BatchWriter(settings.database_url, settings.group_id)
        self._guard = RejectGuard(
            settings.reject_window, settings.reject_max_ratio, settings.reject_min_messages
        )
        self._backoff = Backoff(settings.retry_initial_s, settings.retry_max_s)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=settings.group_id,
            group_instance_id=settings.instance_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=settings.batch_max_records,
            session_timeout_ms=settings.session_timeout_ms,
            heartbeat_interval_ms=settings.heartbeat_interval_ms,
            max_poll_interval_ms=settings.max_poll_interval_ms,
            partition_assignment_strategy=(StickyPartitionAssignor,),
            fetch_max_wait_ms=min(500, max(settings.batch_max_wait_ms, 10)),
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        self._own.consumer = self._consumer
        self._last_retention_day: date | None = None

    def request_stop(self) -> None:
        """Finish (or abandon) the batch in hand, leave the group and return from run()."""
        self._stop.set()

    async def run(self) -> None:
        """Consume until stopped. Fatal errors propagate after leaving the group."""
        self._consumer.subscribe(list(ALL_TOPICS), listener=self._own)
        await self._consumer.start()
        log.info("consumer started", extra={"group": self._s.group_id})
        try:
            while not self._stop.is_set():
                if self._own.pending:
                    await self._seek_pending()
                    continue
                await self._apply_retention()
                batch = await self._collect()
                if batch is not None and batch.messages:
                    await self._commit(batch)
        finally:
            await self._consumer.stop()
            await self._writer.close()
            log.info("consumer stopped")

    def _oldest_day(self) -> date | None:
        if self._s.retention_days <= 0:
            return None
        return datetime.now(UTC).date() - timedelta(days=self._s.retention_days)

    async def _apply_retention(self) -> None:
        cutoff = self._oldest_day()
        if cutoff is None or cutoff == self._last_retention_day:
            return
        try:
            dropped = await self._writer.drop_before(cutoff)
        except RecoverableError as exc:
            log.warning("retention postponed", extra={"error": str(exc)})
            return
        self._last_retention_day = cutoff
        if dropped:
            log.info("dropped expired day partitions", extra={"count": dropped, "before": str(cutoff)})

    async def _idle(self, seconds: float) -> None:
        """Wait while still polling Kafka, so the group keeps this member.

        Everything assigned is paused; should a record slip through anyway, its
        partition is re-sought from its stored offset rather than skipped.
        """
        owned = self._consumer.assignment()
        if owned:
            self._consumer.pause(*owned)
        data = await self._consumer.getmany(timeout_ms=int(seconds * 1000))
        if data:
            self._own.mark_stale(list(data))

    async def _seek_pending(self) -> None:
        owned = self._consumer.assignment()
        tps = {tp for tp in self._own.pending if tp in owned}
        self._own.pending &= owned
        if not tps:
            return
        try:
            stored = await self._writer.load_offsets(tps)
        except RecoverableError as exc:
            metrics.RETRIES.labels("database").inc()
            delay = self._backoff.next_delay()
            log.warning(
                "cannot read stored offsets; retrying", extra={"error": str(exc), "delay_s": round(delay, 2)}
            )
            await self._idle(delay)
            return
        self._backoff.reset()
        for tp in tps:
            if tp in stored:
                self._consumer.seek(tp, stored[tp])
                self._own.expected[tp] = stored[tp]
            else:
                await self._consumer.seek_to_beginning(tp)
                self._own.expected[tp] = None
        self._own.pending -= tps
        self._consumer.resume(*tps)
        log.info(
            "partitions ready",
            extra={"partitions": sorted(f"{tp.topic}[{tp.partition}]={stored.get(tp)}" for tp in tps)},
        )

    async def _collect(self) -> Batch | None:
        """Gather up to batch_max_records, waiting at most batch_max_wait_ms for more."""
        generation = self._own.generation
        batch = Batch(generation=generation)
        deadline = time.monotonic() + self._s.batch_max_wait_ms / 1000
        oldest = self._oldest_day()
        while batch.messages < self._s.batch_max_records and not self._stop.is_set():
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            data = await self._consumer.getmany(
                timeout_ms=remaining_ms if batch.messages else max(remaining_ms, 100),
                max_records=self._s.batch_max_records - batch.messages,
            )
            if self._own.generation != generation:
                return None  # assignment changed under us; stored offsets decide again
            for tp, records in data.items():
                if not self._own.ready(tp) or not records:
                    continue
                batch.expected.setdefault(tp, self._own.expected[tp])
                add_records(batch, records, oldest)
                batch.next_offsets[tp] = records[-1].offset + 1
            if remaining_ms == 0 or (not data and batch.messages):
                break
        return batch

    async def _commit(self, batch: Batch) -> None:
        """Write ``batch``; retry recoverable failures with the same batch."""
        self._guard.check(batch)
        while True:
            if batch.generation != self._own.generation:
                log.info("abandoned batch after a rebalance", extra={"messages": batch.messages})
                return
            started = time.perf_counter()
            try:
                async with self._own.lock:
                    if batch.generation != self._own.generation:
                        continue
                    result = await asyncio.wait_for(self._writer.write(batch), WRITE_TIMEOUT_S)
            except FencedError as exc:
                metrics.FENCED.inc()
                log.warning(str(exc))
                self._own.mark_stale([TopicPartition(s.topic, s.partition) for s in exc.stale])
                return
            except (RecoverableError, TimeoutError) as exc:
                if isinstance(exc, TimeoutError):
                    await self._writer.close()
                metrics.RETRIES.labels("database").inc()
                delay = self._backoff.next_delay()
                log.warning(
                    "batch write failed; partitions paused, retrying the same batch",
                    extra={"error": str(exc), "attempt": self._backoff.attempts, "delay_s": round(delay, 2)},
                )
                await self._idle(delay)
                continue
            self._after_commit(batch, result, time.perf_counter() - started)
            return

    def _after_commit(self, batch: Batch, result: WriteResult, seconds: float) -> None:
        if self._backoff.attempts:
            log.info("database writes recovered", extra={"attempts": self._backoff.attempts})
            self._backoff.reset()
            ready = [tp for tp in self._consumer.assignment() if self._own.ready(tp)]
            self._consumer.resume(*ready)
        for tp, offset in batch.next_offsets.items():
            self._own.expected[tp] = offset
        self._guard.commit(batch)
        committed_at = time.time() * 1000
        for received in batch.received_at_ms:
            metrics.INGEST_TO_VISIBLE.observe(max(0.0, (committed_at - received) / 1000))
        metrics.BATCH_SIZE.observe(batch.messages)
        metrics.BATCH_SECONDS.observe(seconds)
        metrics.ROWS_STORED.labels("meter_telemetry").inc(result.meters)
        metrics.ROWS_STORED.labels("vehicle_telemetry").inc(result.vehicles)
        metrics.DUPLICATES.labels("meter_telemetry").inc(len(batch.meters) - result.meters)
        metrics.DUPLICATES.labels("vehicle_telemetry").inc(len(batch.vehicles) - result.vehicles)
        for r in batch.rejects:
            metrics.REJECTS.labels(r.reason).inc()
        for tp, offset in batch.next_offsets.items():
            high = self._consumer.highwater(tp)
            if high is not None:
                metrics.LAG.labels(tp.topic, str(tp.partition)).set(max(0, high - offset))
        log.debug(
            "batch committed",
            extra={
                "messages": batch.messages,
                "meters": result.meters,
                "vehicles": result.vehicles,
                "rejects": result.rejects,
                "seconds": round(seconds, 4),
            },
        )
        asyncio.get_running_loop().create_task(self._commit_kafka(batch.next_offsets))

    async def _commit_kafka(self, offsets: dict[TopicPartition, int]) -> None:
        """Mirror stored offsets to Kafka for lag tooling; failures here are harmless."""
        owned = self._consumer.assignment()
        mine = {tp: OffsetAndMetadata(off, "") for tp, off in offsets.items() if tp in owned}
        if not mine:
            return
        try:
            await self._consumer.commit(mine)
        except (KafkaError, AssertionError) as exc:
            log.debug("kafka offset mirror skipped", extra={"error": repr(exc)})
