"""Unit tests of the consumer's pure parts (no broker, no database)."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest
from aiokafka.structs import ConsumerRecord, TopicPartition

from consumer.backoff import Backoff
from consumer.batch import Batch, Reject
from consumer.collector import Collector
from consumer.decode import add_records
from consumer.errors import FencedError, RecoverableError, RejectFloodError, StalePartition
from consumer.logthrottle import Throttle
from consumer.mirror import OffsetMirror
from consumer.rebalance import Ownership
from consumer.reject_guard import RejectGuard
from consumer.retention import RETRY_AFTER_S, Retention
from consumer.settings import ConsumerSettings
from schemas.topics import METER_TOPIC, VEHICLE_TOPIC

NOW_MS = int(datetime(2024, 5, 1, 12, tzinfo=UTC).timestamp() * 1000)


def record(topic: str, offset: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic, 0, offset, NOW_MS, 0, b"k", value, None, 1, len(value), [])


def meter(ts: str = "2024-05-01T11:59:00Z", **extra: Any) -> bytes:
    body = {"type": "meter", "meterId": "m-1", "kwhConsumedAc": 1.5, "voltage": 230.0, "timestamp": ts}
    return orjson.dumps(body | extra)


def batch_of(good: int, bad: int) -> Batch:
    b = Batch(generation=0)
    b.meters = [("m", datetime.now(UTC), 1.0, 230.0, None, 0, i) for i in range(good)]
    b.rejects = [Reject(METER_TOPIC, 0, i, None, b"x", "invalid_json", "bad") for i in range(bad)]
    return b


class TestDecode:
    def test_good_and_bad_records_are_sorted_out(self) -> None:
        b = Batch(generation=0)
        records = [
            record(METER_TOPIC, 0, meter()),
            record(METER_TOPIC, 1, b"{nope"),
            record(METER_TOPIC, 2, meter(type="toaster")),
            record(VEHICLE_TOPIC, 3, meter()),
            record(METER_TOPIC, 4, meter(ts="2024-01-01T00:00:00Z")),
            record(METER_TOPIC, 5, meter(ts="2024-05-01T13:00:00Z")),  # an hour after Kafka's time
        ]
        add_records(b, records, oldest_day=date(2024, 3, 1))
        assert [m[-1] for m in b.meters] == [0]
        assert [(r.offset, r.reason) for r in b.rejects] == [
            (1, "invalid_json"),
            (2, "unknown_type"),
            (3, "wrong_topic"),
            (4, "expired"),
            (5, "timestamp_future"),  # a time rule's reject names its rule
        ]
        assert b.days == {date(2024, 5, 1)}

    def test_nul_bytes_are_kept_raw_but_not_in_the_detail(self) -> None:
        b = Batch(generation=0)
        raw = meter().replace(b"m-1", b"m\x00x")
        add_records(b, [record(METER_TOPIC, 7, raw)], None)
        (r,) = b.rejects
        assert (r.raw, r.reason) == (raw, "invalid_json")
        assert "\x00" not in r.detail


class TestRejectGuard:
    def test_halts_when_rejects_dominate_and_not_before_min_messages(self) -> None:
        guard = RejectGuard(window=100, max_ratio=0.5, min_messages=20)
        guard.check(batch_of(0, 19))  # too few to judge
        guard.commit(batch_of(60, 0))
        guard.check(batch_of(0, 30))  # 30 of 90
        with pytest.raises(RejectFloodError) as err:
            guard.check(batch_of(0, 70))  # 70 of the last 100
        assert "70 of the last 100" in str(err.value)

    def test_a_batch_without_rejects_can_still_trip_with_a_reason(self) -> None:
        guard = RejectGuard(window=100, max_ratio=0.5, min_messages=50)
        guard.commit(batch_of(0, 40))  # committed while too few to judge
        with pytest.raises(RejectFloodError) as err:
            guard.check(batch_of(15, 0))
        assert "invalid_json: bad" in str(err.value)

    def test_a_retried_batch_is_judged_the_same(self) -> None:
        guard = RejectGuard(window=100, max_ratio=0.5, min_messages=10)
        b = batch_of(20, 10)  # 10 of 30: passes
        guard.check(b)
        guard.check(b)  # the retry of a batch whose write failed
        guard.commit(b)
        # The window now holds exactly the 30 outcomes of one commit: checks add nothing.
        flood = batch_of(0, 25)
        for _ in range(2):
            with pytest.raises(RejectFloodError) as err:
                guard.check(flood)
            assert (err.value.rejected, err.value.seen) == (10 + 25, 30 + 25)


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    b = Backoff(0.1, 2.0, random.Random(1))
    delays = [b.next_delay() for _ in range(10)]
    assert all(0.05 <= d <= 2.0 for d in delays)
    assert delays[-1] >= 1.0
    b.reset()
    assert b.next_delay() <= 0.1


def test_fence_recognises_an_own_earlier_commit() -> None:
    tp, other = TopicPartition(METER_TOPIC, 0), TopicPartition(METER_TOPIC, 1)
    own = FencedError([StalePartition(METER_TOPIC, 0, 10, 20), StalePartition(METER_TOPIC, 1, 5, 9)])
    assert own.already_committed({tp: 20, other: 9})
    assert not own.already_committed({tp: 20, other: 8})
    assert not FencedError([StalePartition(METER_TOPIC, 0, 10, 20)]).already_committed({tp: 20, other: 9})


def test_settings_keep_the_heartbeat_and_write_timeout_inside_the_session() -> None:
    s = ConsumerSettings(database_url="postgresql://x", session_timeout_ms=3000, max_poll_interval_ms=10_000)
    assert s.heartbeat_ms == 1000
    assert s.write_timeout_s == 5.0


class FakeWriter:
    def __init__(self) -> None:
        self.calls: list[date] = []
        self.fail = False

    async def drop_before(self, cutoff: date) -> int:
        self.calls.append(cutoff)
        if self.fail:
            raise RecoverableError("database away")
        return 1


async def test_retention_runs_once_per_horizon_and_waits_after_a_failure() -> None:
    writer, today, clock = FakeWriter(), [date(2024, 5, 1)], [0.0]
    r = Retention(30, writer, today=lambda: today[0], clock=lambda: clock[0])
    assert r.oldest_day() == date(2024, 4, 1)
    await r.apply()
    await r.apply()
    assert writer.calls == [date(2024, 4, 1)]
    today[0], writer.fail = date(2024, 5, 2), True
    await r.apply()
    await r.apply()  # too soon after the failure
    assert len(writer.calls) == 2
    clock[0], writer.fail = RETRY_AFTER_S + 1, False
    await r.apply()
    assert writer.calls[-1] == date(2024, 4, 2)
    assert Retention(0, writer).oldest_day() is None


class SlowConsumer:
    def __init__(self) -> None:
        self.commits: list[dict[TopicPartition, int]] = []
        self.gate = asyncio.Event()

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(METER_TOPIC, p) for p in range(3)}

    async def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        await self.gate.wait()
        self.commits.append({tp: o.offset for tp, o in offsets.items()})


async def test_offset_mirror_keeps_one_commit_in_flight_and_the_newest_offsets() -> None:
    kafka = SlowConsumer()
    mirror = OffsetMirror(kafka)
    tp0, tp1 = TopicPartition(METER_TOPIC, 0), TopicPartition(METER_TOPIC, 1)
    mirror.submit({tp0: 1})
    await asyncio.sleep(0)
    tasks_before = len(asyncio.all_tasks())
    for off in range(2, 50):
        mirror.submit({tp0: off, tp1: off})
    assert len(asyncio.all_tasks()) == tasks_before, "no task per batch"
    kafka.gate.set()
    await mirror.close()
    assert kafka.commits == [{tp0: 1}, {tp0: 49, tp1: 49}]


def test_log_throttle_passes_each_kafka_message_once_per_interval() -> None:
    now = [0.0]
    throttle = Throttle(every=10, clock=lambda: now[0])

    def rec(name: str, msg: str) -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, ("x",), None)

    first = rec("aiokafka.conn", "Unable connect to node %s")
    assert throttle.filter(first)
    assert not any(throttle.filter(rec("aiokafka.conn", "Unable connect to node %s")) for _ in range(99))
    assert throttle.filter(rec("consumer.worker", "Unable connect to node %s")), "our own logs pass"
    now[0] = 11
    later = rec("aiokafka.conn", "Unable connect to node %s")
    assert throttle.filter(later)
    assert later.suppressed == 99  # type: ignore[attr-defined]


class FakeKafka:
    """Pure-logic stand-in for AIOKafkaConsumer.getmany: hands out prepared records once."""

    def __init__(self, data: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        self.data = data

    def paused(self) -> set[TopicPartition]:
        return set()

    async def getmany(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        data, self.data = self.data, {}
        return data


def test_collector_continues_after_the_batch_in_flight() -> None:
    """While batch N is written, N+1 starts at N's end and is fenced on it, not on the
    stored offset (which N has not moved yet)."""
    own = Ownership()
    tp, other = TopicPartition(METER_TOPIC, 0), TopicPartition(METER_TOPIC, 1)
    own.expected.update({tp: 10, other: 3})
    in_flight = Batch(generation=own.generation, next_offsets={tp: 12}, expected={tp: 10})
    kafka = FakeKafka(
        {
            tp: [record(METER_TOPIC, o, meter(f"2024-05-01T11:{o:02d}:00Z")) for o in (12, 13)],
            other: [record(METER_TOPIC, 3, meter())],
        }
    )
    settings = ConsumerSettings(database_url="x", BATCH_MAX_WAIT_MS=0)
    collector = Collector(kafka, own, Retention(0, None), settings, asyncio.Event())
    batch = asyncio.run(collector.collect(after=in_flight))
    assert batch is not None
    assert [row[-1] for row in batch.meters] == [12, 13, 3]
    assert batch.expected == {tp: 12, other: 3}
    assert batch.next_offsets == {tp: 14, other: 4}
    # Without the batch in flight the same records do not continue the stored offset.
    kafka.data = {tp: [record(METER_TOPIC, 12, meter())]}
    assert asyncio.run(collector.collect()) is None
    assert tp in own.pending


class BumpingKafka(FakeKafka):
    """Hands out its records while something else moves the generation (a fenced write)."""

    def __init__(
        self, data: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]], own: Ownership
    ) -> None:
        super().__init__(data)
        self.own = own

    async def getmany(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        self.own.generation += 1
        return await super().getmany(timeout_ms, max_records)


def test_records_taken_but_not_written_send_their_partitions_back() -> None:
    """Every partition whose records a dropped poll took is re-read from its stored offset,
    including one just sought: otherwise its next records would look like retention."""
    own = Ownership()
    a, b = TopicPartition(METER_TOPIC, 0), TopicPartition(METER_TOPIC, 1)
    own.expected.update({a: 10, b: 20})
    own.fresh.add(b)
    data = {a: [record(METER_TOPIC, 10, meter())], b: [record(METER_TOPIC, 20, meter())]}
    settings = ConsumerSettings(database_url="x", BATCH_MAX_WAIT_MS=0)
    moved = Collector(BumpingKafka(dict(data), own), own, Retention(0, None), settings, asyncio.Event())
    assert asyncio.run(moved.collect()) is None
    assert own.pending == {a, b}
    assert not own.expected

    own = Ownership()
    own.expected.update({a: 10, b: 20})
    gap = {a: [record(METER_TOPIC, 15, meter())], b: [record(METER_TOPIC, 20, meter())]}
    collector = Collector(FakeKafka(gap), own, Retention(0, None), settings, asyncio.Event())
    assert asyncio.run(collector.collect()) is None
    assert own.pending == {a, b}, "the partition after the gap was read too"


def test_collector_accepts_only_records_that_continue_the_stored_offset() -> None:
    own = Ownership()
    tp = TopicPartition(METER_TOPIC, 0)
    own.expected[tp] = 10
    settings = ConsumerSettings(database_url="x")
    collector = Collector(None, own, Retention(0, None), settings, asyncio.Event())
    recs = [record(METER_TOPIC, o, meter()) for o in (12, 13)]
    own.fresh.add(tp)
    assert collector._contiguous(tp, recs, Batch(generation=0)) == recs, "after a seek: Kafka's retention"
    assert collector._contiguous(tp, recs, Batch(generation=0)) is None, "later: a gap is sought back"
    overlap = [record(METER_TOPIC, o, meter()) for o in (9, 10, 11)]
    assert [r.offset for r in collector._contiguous(tp, overlap, Batch(generation=0)) or []] == [10, 11]
    b = Batch(generation=0, next_offsets={tp: 14})
    assert collector._contiguous(tp, [record(METER_TOPIC, 14, meter())], b) is not None


def test_an_assignment_without_a_revocation_forgets_what_was_believed() -> None:
    """aiokafka may assign without revoking first (a rejoin whose previous assignment was
    reset); another replica may have moved the partitions meanwhile, so every assigned
    partition is re-read from its stored offset."""
    own = Ownership()
    kept, gone, new = (TopicPartition(METER_TOPIC, p) for p in (0, 1, 2))
    own.expected.update({kept: 384, gone: 264})
    own.fresh.update({kept, gone})
    generation = own.generation
    asyncio.run(own.on_partitions_assigned({kept, new}))
    assert own.pending == {kept, new}
    assert not own.expected
    assert not own.fresh
    assert not own.ready(kept)
    assert own.generation > generation
