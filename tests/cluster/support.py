"""The books of the cluster fault tests: when each post was acknowledged, which node leads
the busiest partitions, and every record of the telemetry topics read back from Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from common.kafka import KafkaAccess
from devstack.kafka_cluster import KafkaCluster
from schemas.topics import ALL_TOPICS
from tests.consumer.fleet import end_offsets
from tests.consumer.ledger import Tally
from tests.consumer.load import Key, Load


@dataclass
class TimedLoad(Load):
    """A :class:`Load` that also notes when each post was acknowledged (monotonic s)."""

    acked_at: list[float] = field(default_factory=list)

    def post(self, client: httpx.Client, body: list[dict[str, Any]]) -> bool:
        ok = super().post(client, body)
        if ok:
            self.acked_at.append(time.monotonic())
        return ok

    def longest_gap(self, since: float = 0.0) -> float:
        """The longest time between consecutive acknowledged posts (from ``since`` on)."""
        times = [t for t in self.acked_at if t >= since]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)

    def first_ack_after(self, moment: float) -> float | None:
        """Seconds from ``moment`` to the first post acknowledged after it."""
        later = [t for t in self.acked_at if t > moment]
        return later[0] - moment if later else None

    def acks_between(self, start: float, end: float) -> int:
        """Posts acknowledged strictly inside (start, end)."""
        return sum(start < t < end for t in self.acked_at)


def busiest_leader(
    cluster: KafkaCluster, env: Mapping[str, str], since: Mapping[TopicPartition, int]
) -> tuple[int, int]:
    """The node leading the partitions that took the most records since ``since``, and how
    many records that is."""
    ends = end_offsets(env)
    leaders = cluster.leaders(list(ALL_TOPICS))
    traffic: Counter[int] = Counter()
    for tp, end in ends.items():
        traffic[leaders[(tp.topic, tp.partition)]] += end - since.get(tp, 0)
    node, records = traffic.most_common(1)[0]
    return node, records


@dataclass(frozen=True)
class TopicCopies:
    """Acknowledged readings as Kafka holds them."""

    missing: int  # acknowledged but in no partition
    copies: int  # extra records of an acknowledged reading (a re-posted request adds one)
    replayed: int  # extra records of one produce (same reading, same receivedAt): idempotence broken


def topic_copies(env: Mapping[str, str], prefix: str, acknowledged: set[Key]) -> TopicCopies:
    """Read every record of the telemetry topics from the beginning (as the admin) and count
    the records of the acknowledged readings of ``prefix``."""
    records = asyncio.run(_read_all(KafkaAccess.admin_from(env), end_offsets(env), prefix))
    by_key = Counter(key for key, _ in records)
    by_produce = Counter(records)
    return TopicCopies(
        missing=len(acknowledged - by_key.keys()),
        copies=sum(n - 1 for key, n in by_key.items() if key in acknowledged),
        replayed=sum(n - 1 for n in by_produce.values()),
    )


async def _read_all(
    access: KafkaAccess, ends: Mapping[TopicPartition, int], prefix: str
) -> list[tuple[Key, int]]:
    consumer = AIOKafkaConsumer(**access.aiokafka_kwargs(), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        out: list[tuple[Key, int]] = []
        left = {tp for tp, end in ends.items() if end > 0}
        deadline = time.monotonic() + 60
        while left:
            assert time.monotonic() < deadline, f"could not read the topics to their end: {left}"
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for tp, messages in batches.items():
                for m in messages:
                    if m.value is None:
                        continue
                    value = json.loads(m.value)
                    device = str(value.get("meterId") or value.get("vehicleId"))
                    if device.startswith(prefix):
                        key = (str(value["type"]), device, _iso_z(str(value["timestamp"])))
                        out.append((key, int(value["receivedAt"])))
                if messages and messages[-1].offset + 1 >= ends[tp]:
                    left.discard(tp)
        return out
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()


def _iso_z(text: str) -> str:
    """The load's timestamp text (``...Z``) for a value's timestamp."""
    return text.replace("+00:00", "Z")


@dataclass
class ClusterRow:
    """One row of the cluster fault table."""

    run: str
    tally: Tally
    pause_s: float
    resume_s: float | None
    topic: TopicCopies
    note: str = ""

    def line(self) -> str:
        t = self.tally
        resume = "-" if self.resume_s is None else f"{self.resume_s:.1f}"
        return (
            f"{self.run:<24} acknowledged={t.acknowledged:<6} stored={t.stored:<6} "
            f"duplicates={t.duplicates} lost={t.lost} pause_s={self.pause_s:.1f} resume_s={resume} "
            f"topic_copies={self.topic.copies} topic_replayed={self.topic.replayed}"
            + (f"  ({self.note})" if self.note else "")
        )
