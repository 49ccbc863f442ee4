"""When the collector closes a batch (pure logic, on a scripted timeline).

Records arrive at scripted moments; the collector's clock is the timeline's, and a poll
either returns the records that arrived within its timeout or waits the timeout out.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import orjson
import pytest
from aiokafka.structs import ConsumerRecord, TopicPartition

import consumer.collector
from consumer.batch import Batch
from consumer.collector import IDLE_POLL_MS, Collector
from consumer.rebalance import Ownership
from consumer.retention import Retention
from consumer.settings import ConsumerSettings
from schemas.topics import METER_TOPIC

TP = TopicPartition(METER_TOPIC, 0)
START = datetime(2024, 5, 1, 11, tzinfo=UTC)
KAFKA_MS = int(datetime(2024, 5, 1, 12, tzinfo=UTC).timestamp() * 1000)


def meter_record(offset: int) -> ConsumerRecord[bytes, bytes]:
    ts = (START + timedelta(seconds=offset)).isoformat().replace("+00:00", "Z")
    value = orjson.dumps(
        {"type": "meter", "meterId": "m-1", "kwhConsumedAc": 0.5, "voltage": 230.0, "timestamp": ts}
    )
    return ConsumerRecord(METER_TOPIC, 0, offset, KAFKA_MS, 0, b"m-1", value, None, 1, len(value), [])


@dataclass
class Timeline:
    """Kafka's ``getmany`` and the collector's clock on one scripted timeline (seconds)."""

    arrivals: list[tuple[float, int]]  # (when, how many records) in order
    write_done_at: float | None = None  # when the write in flight finishes
    now: float = 0.0
    timeouts: list[int] = field(default_factory=list)
    next_offset: int = 0
    writing: asyncio.Future[object] | None = None

    def monotonic(self) -> float:
        return self.now

    def paused(self) -> set[TopicPartition]:
        return set()

    async def getmany(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        self.timeouts.append(timeout_ms)
        until = self.now + timeout_ms / 1000
        if self.arrivals and self.arrivals[0][0] <= until:
            self.now = max(self.now, self.arrivals[0][0])
            count = 0
            while self.arrivals and self.arrivals[0][0] <= self.now:
                count += self.arrivals.pop(0)[1]
            out = [meter_record(o) for o in range(self.next_offset, self.next_offset + count)]
            self.next_offset += count
        else:
            self.now, out = until, []
        self._settle_write()
        return {TP: out} if out else {}

    def _settle_write(self) -> None:
        done_at = self.write_done_at
        if (
            self.writing is not None
            and done_at is not None
            and self.now >= done_at
            and not self.writing.done()
        ):
            self.writing.set_result(None)


def collect(timeline: Timeline, monkeypatch: pytest.MonkeyPatch, **settings: int) -> Batch:
    """One ``collect`` on ``timeline``, with a write in flight when it has ``write_done_at``."""
    monkeypatch.setattr(consumer.collector, "time", SimpleNamespace(monotonic=timeline.monotonic))
    own = Ownership()
    own.expected[TP] = 0
    conf = ConsumerSettings.model_validate({"database_url": "x", **settings})

    async def run() -> Batch | None:
        collector = Collector(timeline, own, Retention(0, None), conf, asyncio.Event())
        if timeline.write_done_at is not None:
            timeline.writing = asyncio.get_running_loop().create_future()
        return await collector.collect(None, timeline.writing)

    batch = asyncio.run(run())
    assert batch is not None
    return batch


def test_a_request_s_records_close_their_batch_once_kafka_is_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """No write in flight: the batch closes one quiet poll after the last record, not at
    the 100 ms deadline, and the records that arrived together are one batch."""
    timeline = Timeline(arrivals=[(0.020, 700), (0.024, 700), (0.027, 600)])
    batch = collect(timeline, monkeypatch, BATCH_MAX_WAIT_MS=100, BATCH_QUIET_MS=10)
    assert batch.messages == 2000
    assert [row[-1] for row in batch.meters] == list(range(2000))
    assert timeline.now == pytest.approx(0.037), "closed 10 ms after the last record"
    assert timeline.timeouts == [IDLE_POLL_MS, 10, 10, 10]


def test_the_deadline_counts_from_the_batch_s_first_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """Records that keep coming (never a quiet poll) close the batch 100 ms after its first
    one, however long the collector had been waiting for that first one."""
    timeline = Timeline(arrivals=[(0.090 + 0.005 * i, 10) for i in range(100)])
    batch = collect(timeline, monkeypatch, BATCH_MAX_WAIT_MS=100, BATCH_QUIET_MS=10)
    assert timeline.now == pytest.approx(0.190)
    assert batch.messages == 10 * 21, "the records of 90 ms .. 190 ms"


def test_while_a_write_is_in_flight_the_batch_keeps_filling(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch closed before the write in flight ends would only wait for it: it keeps
    taking records past its deadline and past quiet polls, then closes on the rule."""
    arrivals = [(0.010, 100), (0.060, 100), (0.200, 100), (0.290, 100)]
    timeline = Timeline(arrivals=arrivals, write_done_at=0.300)
    batch = collect(timeline, monkeypatch, BATCH_MAX_WAIT_MS=100, BATCH_QUIET_MS=10)
    assert batch.messages == 400, "records after the deadline (110 ms) and after quiet polls joined"
    assert timeline.now == pytest.approx(0.300), "closed by the quiet poll in which the write ended"


def test_a_full_batch_closes_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    timeline = Timeline(arrivals=[(0.001, 600), (0.002, 600), (0.003, 600)], write_done_at=10.0)
    batch = collect(timeline, monkeypatch, BATCH_MAX_RECORDS=1000, BATCH_QUIET_MS=10)
    assert batch.messages >= 1000
    assert timeline.now == pytest.approx(0.002)


def test_nothing_to_read_gives_an_empty_batch_after_one_idle_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    timeline = Timeline(arrivals=[(5.0, 10)])
    batch = collect(timeline, monkeypatch)
    assert batch.messages == 0
    assert timeline.timeouts == [IDLE_POLL_MS]
