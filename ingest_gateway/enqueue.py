"""Hand a request's records to the producer without serialising on per-record work.

Records are grouped by (topic, partition), with the partition computed as Kafka's
default partitioner does (murmur2 of the key, so a device always lands on the same
partition as with any Kafka client). A large group goes to the producer as one
pre-built batch (``create_batch`` / ``send_batch``): one queue operation and one
future instead of one per record. A small group goes record by record through
``send``, which joins the producer's open batch for that partition, so concurrent
single-reading requests share batches instead of queueing one tiny batch each.
The cut-over was chosen by measurement (see python -m bench.gateway).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from aiokafka.errors import KafkaTimeoutError
from aiokafka.partitioner import murmur2

# Groups of at least this many records are sent as one pre-built batch.
BATCH_MIN_RECORDS = 16

Record = tuple[str, bytes, bytes]  # topic, key, value


class PartitionRouter:
    """Key → partition, identical to Kafka's default partitioner; hashes are cached."""

    def __init__(self, max_cached: int = 262_144) -> None:
        self._hashes: dict[bytes, int] = {}
        self._max_cached = max_cached

    def partition(self, key: bytes, partitions: int) -> int:
        """The partition of ``key`` in a topic of ``partitions`` partitions."""
        h = self._hashes.get(key)
        if h is None:
            if len(self._hashes) >= self._max_cached:
                self._hashes.clear()  # crude but bounded; refills with the active devices
            h = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return h % partitions


async def enqueue(
    producer: Any,
    records: list[Record],
    router: PartitionRouter,
    timestamp_ms: int,
    futures: list[asyncio.Future[Any]],
) -> None:
    """Queue every record; each delivery future is appended to ``futures`` as soon as it exists.

    ``futures`` is the caller's list so that, if this is cancelled half-way (deadline),
    the caller still knows which records were queued.
    """
    counts: dict[str, int] = {}
    groups: dict[tuple[str, int], list[tuple[bytes, bytes]]] = defaultdict(list)
    for topic, key, value in records:
        n = counts.get(topic)
        if n is None:
            known = producer.client.cluster.partitions_for_topic(topic)  # no await when cached
            n = counts[topic] = len(known or await producer.partitions_for(topic))
        groups[(topic, router.partition(key, n))].append((key, value))
    for (topic, partition), items in groups.items():
        if len(items) < BATCH_MIN_RECORDS:
            for key, value in items:
                futures.append(
                    await producer.send(topic, value, key, partition=partition, timestamp_ms=timestamp_ms)
                )
            continue
        batch = producer.create_batch()
        for key, value in items:
            if batch.append(key=key, value=value, timestamp=timestamp_ms) is None:
                futures.append(await _send_batch(producer, batch, topic, partition))
                batch = producer.create_batch()
                batch.append(key=key, value=value, timestamp=timestamp_ms)
        futures.append(await _send_batch(producer, batch, topic, partition))


async def _send_batch(producer: Any, batch: Any, topic: str, partition: int) -> asyncio.Future[Any]:
    """``send_batch``, retried when it gives up early.

    aiokafka's ``add_batch`` waits for the partition's queued batch to drain, and when
    it has to wait more than once it subtracts the total time waited on every round,
    so under concurrency it raises KafkaTimeoutError well before its timeout. Every
    round waits for a drain, so this never spins; the request's deadline bounds it.
    """
    while True:
        try:
            fut: asyncio.Future[Any] = await producer.send_batch(batch, topic, partition=partition)
            return fut
        except KafkaTimeoutError:
            continue
