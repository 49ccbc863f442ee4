"""The consumer loop: collect a batch, write it in one transaction, repeat.

The chain, from Kafka to PostgreSQL, built here from its steps: ``getmany`` and
:func:`add_records` (:class:`Collector`: decode, validate, reject) → :class:`RejectGuard`
(halt on a flood) → :class:`BatchWriter` (one transaction with the offsets) →
:class:`OffsetMirror` (Kafka commit for lag dashboards only; PostgreSQL holds the
offsets that count).

One batch is written (by a task) while the next is collected and decoded, so Python's
decoding overlaps PostgreSQL's work. The next batch continues exactly where the one in
flight ends and is abandoned if that one is not written; a failed write is retried (or
given up) with nothing else in flight, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from enum import Enum

from aiokafka.errors import KafkaConnectionError

from consumer import metrics
from consumer.backoff import Backoff
from consumer.batch import Batch
from consumer.collector import Collector
from consumer.errors import FencedError, RecoverableError
from consumer.mirror import OffsetMirror
from consumer.rebalance import Ownership
from consumer.reject_guard import RejectGuard
from consumer.retention import Retention
from consumer.settings import ConsumerSettings
from consumer.source import group_consumer, poll
from consumer.writer import BatchWriter, SessionOptions, WriteResult
from schemas.topics import ALL_TOPICS

log = logging.getLogger(__name__)

IDLE_SLICE_S = 0.5  # while waiting out a failure, poll (and notice a stop) this often


class Outcome(Enum):
    """What one attempt at writing a batch came to."""

    COMMITTED = "committed"
    DROPPED = "dropped"  # abandoned unwritten: a rebalance or a fence; its partitions are re-read
    RETRY = "retry"  # a recoverable failure: the same batch is worth another try


class Worker:
    """One replica of the consumer group."""

    def __init__(self, settings: ConsumerSettings) -> None:
        self._s = settings
        self._stop = asyncio.Event()
        self._own = Ownership()
        name = settings.instance_id or f"pid{os.getpid()}"
        self._writer = BatchWriter(
            settings.database_url,
            settings.group_id,
            SessionOptions(
                application_name=f"energy-consumer:{name}"[:63],
                statement_timeout_ms=settings.db_statement_timeout_ms,
                idle_in_transaction_timeout_ms=settings.db_idle_in_transaction_timeout_ms,
            ),
            settings.partition_day_months,
        )
        self._guard = RejectGuard(
            settings.reject_window, settings.reject_max_ratio, settings.reject_min_messages
        )
        self._backoff = Backoff(settings.retry_initial_s, settings.retry_max_s)
        self._retention = Retention(settings.retention_days)  # the horizon; the retention job drops
        self._consumer = group_consumer(settings)
        self._own.consumer = self._consumer
        self._collector = Collector(self._consumer, self._own, self._retention, settings, self._stop)
        self._mirror = OffsetMirror(self._consumer)
        # The batch being written (by a task) while the next one is collected.
        self._writing: tuple[Batch, asyncio.Future[tuple[Outcome, BaseException | None]]] | None = None

    def request_stop(self) -> None:
        """Finish (or abandon) the batch in hand, leave the group and return from run()."""
        self._stop.set()

    async def run(self) -> None:
        """Consume until stopped. Fatal errors propagate after leaving the group."""
        self._consumer.subscribe(list(ALL_TOPICS), listener=self._own)
        try:
            if not await self._start():
                return
            log.info("consumer started", extra={"group": self._s.group_id, "instance": self._s.instance_id})
            while not self._stop.is_set():
                if self._own.pending:
                    await self._settle(None)
                    await self._seek_pending()
                    continue
                # Decode the next batch while PostgreSQL stores the previous one.
                after, writing = self._writing or (None, None)
                batch = await self._collector.collect(after, writing)
                if await self._settle(batch) and batch is not None and batch.messages:
                    self._guard.check(batch)
                    self._writing = (batch, asyncio.ensure_future(self._attempt(batch)))
                metrics.report_lag(self._consumer, self._own.expected)
            await self._settle(None)
        finally:
            await self._abandon_in_flight()
            await self._mirror.close()
            await self._consumer.stop()
            await self._writer.close()
            log.info("consumer stopped")

    async def _start(self) -> bool:
        """Start the Kafka client (it waits for the group's first assignment) unless a stop
        comes first.

        A broker that cannot be reached yet (started before Kafka, or Kafka restarting) is
        tried again with back-off rather than ending the process: readings wait in Kafka.
        """
        backoff = Backoff(self._s.retry_initial_s, self._s.retry_max_s)
        while not self._stop.is_set():
            starting = asyncio.ensure_future(self._consumer.start())
            stopping = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not starting.done():
                starting.cancel()
                await asyncio.wait({starting})
                return False
            try:
                starting.result()
            except KafkaConnectionError as exc:
                delay = backoff.next_delay()
                log.warning(
                    "kafka unreachable at start, retrying",
                    extra={"error": str(exc), "attempt": backoff.attempts, "delay_s": round(delay, 2)},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                continue
            return True
        return False

    async def _idle(self, seconds: float) -> None:
        """Wait while still polling Kafka, so the group keeps this member.

        Everything assigned is paused (the collector resumes what is ready); should a
        record slip through anyway, its partition is re-sought from its stored offset.
        """
        owned = self._consumer.assignment()
        if owned:
            self._consumer.pause(*owned)
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and (remaining := deadline - time.monotonic()) > 0:
            data = await poll(self._consumer, int(min(remaining, IDLE_SLICE_S) * 1000))
            if data:
                self._own.mark_stale(data)

    async def _seek_pending(self) -> None:
        """Seek newly assigned (or stale) partitions to their stored offsets."""
        owned = self._consumer.assignment()
        self._own.pending &= owned
        tps = set(self._own.pending)
        if not tps:
            return
        generation = self._own.generation
        try:
            stored = await self._writer.load_offsets(tps)
        except RecoverableError as exc:
            await self._wait_out("cannot read stored offsets; partitions paused, retrying", exc)
            return
        self._recovered()
        if generation != self._own.generation:
            return  # the assignment changed while we read: read again for the new one
        for tp in tps:
            # Never stored: from the log start (offset 0, or Kafka resets it to the earliest).
            self._consumer.seek(tp, stored.get(tp, 0))
            self._own.expected[tp] = stored.get(tp)
        self._own.fresh |= tps
        self._own.pending -= tps
        self._consumer.resume(*tps)
        log.info(
            "partitions ready",
            extra={"partitions": sorted(f"{tp.topic}[{tp.partition}]={stored.get(tp)}" for tp in tps)},
        )

    async def _settle(self, following: Batch | None) -> bool:
        """Wait for the batch being written, retrying it if need be; whether it committed.

        ``following`` was collected to continue it: when the batch in flight is not
        written after all, ``following`` is abandoned too (its partitions re-read).
        True also when nothing was in flight.
        """
        if self._writing is None:
            return True
        batch, attempt = self._writing
        self._writing = None
        outcome, error = await attempt
        committed = outcome is Outcome.COMMITTED
        if outcome is Outcome.RETRY:
            committed = await self._commit(batch, error)
        if not committed and following is not None:
            self._collector.abandon(following, "predecessor_unwritten")
        return committed

    async def _abandon_in_flight(self) -> None:
        """On the way out (an error or a cancellation): let a write in flight finish once."""
        if self._writing is None:
            return
        batch, attempt = self._writing
        self._writing = None
        try:
            outcome, _ = await attempt
        except asyncio.CancelledError:
            attempt.cancel()
            raise
        except Exception as exc:  # leaving anyway: the transaction rolled back
            log.warning("the last batch write failed while stopping", extra={"error": repr(exc)})
            return
        if outcome is Outcome.RETRY:
            self._collector.abandon(batch, "stopped")

    async def _commit(self, batch: Batch, error: BaseException | None = None) -> bool:
        """Write ``batch`` (after the failure ``error`` of an earlier attempt, if given);
        retry recoverable failures with the same batch. Whether it committed."""
        self._guard.check(batch)
        while True:
            if error is not None:
                if not self._stop.is_set():
                    await self._wait_out(
                        "batch write failed; partitions paused, retrying the same batch", error
                    )
                if self._stop.is_set():
                    self._collector.abandon(batch, "stopped")
                    return False
            outcome, error = await self._attempt(batch)
            if outcome is not Outcome.RETRY:
                return outcome is Outcome.COMMITTED

    async def _attempt(self, batch: Batch) -> tuple[Outcome, BaseException | None]:
        """One try at writing ``batch``: committed, dropped (abandoned), or worth a retry."""
        started = time.perf_counter()
        try:
            async with self._own.lock:
                if batch.generation != self._own.generation:
                    self._collector.abandon(batch, "rebalance")
                    return Outcome.DROPPED, None
                result = await asyncio.wait_for(self._writer.write(batch), self._s.write_timeout_s)
        except FencedError as exc:
            if exc.already_committed(batch.next_offsets):
                log.info("an earlier attempt of this batch had committed; moving on")
                self._after_commit(batch, None, time.perf_counter() - started)
                return Outcome.COMMITTED, None
            metrics.FENCED.inc()
            log.warning(str(exc))
            self._collector.abandon(batch, "fenced")
            return Outcome.DROPPED, None
        except (RecoverableError, TimeoutError) as exc:
            if isinstance(exc, TimeoutError):
                await self._writer.close()
            return Outcome.RETRY, exc
        self._after_commit(batch, result, time.perf_counter() - started)
        return Outcome.COMMITTED, None

    async def _wait_out(self, what: str, exc: BaseException) -> None:
        """Back off (partitions paused, membership kept alive by polling) before a retry."""
        metrics.RETRIES.labels("database").inc()
        metrics.PAUSED.set(1)
        delay = self._backoff.next_delay()
        log.warning(
            what,
            extra={
                "error": str(exc) or repr(exc),
                "attempt": self._backoff.attempts,
                "delay_s": round(delay, 2),
            },
        )
        await self._idle(delay)

    def _recovered(self) -> None:
        if self._backoff.attempts:
            log.info("database reachable again", extra={"attempts": self._backoff.attempts})
            self._backoff.reset()
            metrics.PAUSED.set(0)

    def _after_commit(self, batch: Batch, result: WriteResult | None, seconds: float) -> None:
        self._recovered()
        for tp, offset in batch.next_offsets.items():
            self._own.expected[tp] = offset
        self._guard.commit(batch)
        stored = {}
        if result is not None:  # None: committed by an earlier attempt whose answer was lost
            stored = {
                "meter_telemetry": (len(batch.meters) + len(batch.registers), result.meters),
                "vehicle_telemetry": (len(batch.vehicles), result.vehicles),
            }
        metrics.record_commit(
            batch.messages,
            seconds,
            stored,
            [r.reason for r in batch.rejects],
            batch.received_at_ms,
            time.time() * 1000,
        )
        log.debug("batch committed", extra={"messages": batch.messages, "seconds": round(seconds, 4)})
        self._mirror.submit(batch.next_offsets)
