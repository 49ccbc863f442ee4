"""Prometheus metrics of a consumer worker (served on CONSUMER_METRICS_PORT)."""

from __future__ import annotations

import contextlib
from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from prometheus_client import Counter, Gauge, Histogram

BATCH_SIZE = Histogram(
    "consumer_batch_messages",
    "Messages per committed batch",
    buckets=(1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000),
)
BATCH_SECONDS = Histogram(
    "consumer_batch_seconds",
    "Time to write and commit one batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ROWS_STORED = Counter("consumer_rows_stored_total", "Rows inserted into history", ["table"])
DUPLICATES = Counter("consumer_duplicates_skipped_total", "Readings already stored, skipped", ["table"])
REJECTS = Counter("consumer_rejects_total", "Messages sent to ingest_rejects", ["reason"])
RETRIES = Counter("consumer_retries_total", "Retries after a failure, by what failed", ["cause"])
FENCED = Counter("consumer_fenced_batches_total", "Stale batches rolled back by the offset fence")
ABANDONED = Counter(
    "consumer_abandoned_batches_total", "Batches dropped unwritten (rebalance, fence, stop)", ["why"]
)
OFFSET_GAPS = Counter(
    "consumer_offset_gaps_total", "Records that did not start at the stored offset", ["handling"]
)
ASSIGNED = Gauge("consumer_assigned_partitions", "Partitions assigned to this worker")
PAUSED = Gauge("consumer_paused", "1 while the worker holds its partitions paused to retry a write")
LAG = Gauge(
    "consumer_lag_messages",
    "Messages between the stored offset and the partition's end",
    ["topic", "partition"],
)
INGEST_TO_VISIBLE = Histogram(
    "consumer_ingest_to_visible_seconds",
    "From the gateway's receive time to the commit that made the reading visible",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def forget_partition(topic: str, partition: int) -> None:
    """Drop the per-partition series of a partition this worker no longer owns."""
    with contextlib.suppress(KeyError):
        LAG.remove(topic, str(partition))


def record_commit(
    messages: int,
    seconds: float,
    stored: dict[str, tuple[int, int]],
    reject_reasons: list[str],
    received_at_ms: Mapping[int, int],
    committed_at_ms: float,
) -> None:
    """Observe one committed batch. ``stored`` maps a table to (offered, inserted) rows;
    ``received_at_ms`` counts the batch's readings per gateway receive time."""
    BATCH_SIZE.observe(messages)
    BATCH_SECONDS.observe(seconds)
    for table, (offered, inserted) in stored.items():
        ROWS_STORED.labels(table).inc(inserted)
        DUPLICATES.labels(table).inc(max(0, offered - inserted))
    for reason in reject_reasons:
        REJECTS.labels(reason).inc()
    latencies: Tally[float] = Tally()
    for received, readings in received_at_ms.items():
        latencies[max(0.0, (committed_at_ms - received) / 1000)] += readings
    observe_many(INGEST_TO_VISIBLE, latencies)


def observe_many(histogram: Histogram, counts: Mapping[float, int]) -> None:
    """``histogram.observe(value)`` ``n`` times for each ``value: n``, in one step per value.

    A batch holds thousands of readings but few distinct receive times; observing them
    one by one was about a tenth of a consumer's CPU. prometheus_client has no weighted
    observe, so this adds to the same bucket and sum values ``observe`` adds to
    (tests/unit/test_consumer_metrics.py checks it against ``observe``).
    """
    bounds = histogram._upper_bounds
    buckets = histogram._buckets
    for value, n in counts.items():
        histogram._sum.inc(value * n)
        buckets[bisect_left(bounds, value)].inc(n)


def report_lag(consumer: AIOKafkaConsumer, stored: Mapping[TopicPartition, int | None]) -> None:
    """Per owned partition: the end of the partition minus its stored offset."""
    for tp in consumer.assignment():
        offset = stored.get(tp)
        high = consumer.highwater(tp)
        if offset is not None and high is not None:
            LAG.labels(tp.topic, str(tp.partition)).set(max(0, high - offset))
