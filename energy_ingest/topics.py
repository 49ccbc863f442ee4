"""Create the telemetry topics (idempotent); read their end offsets."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from common.kafka import KafkaAccess
from schemas.topics import ALL_TOPICS

log = logging.getLogger(__name__)


def min_insync_for(replication: int) -> int:
    """``min.insync.replicas`` of a topic with ``replication`` replicas: 2 from three replicas
    on (an acknowledged write is on two nodes; one may be down), else 1."""
    return 2 if replication >= 3 else 1


def replication_for(brokers: int) -> int:
    """The replication factor on a cluster of ``brokers`` nodes: 3 from three on, else 1."""
    return 3 if brokers >= 3 else 1


async def create_topics(
    access: KafkaAccess, partitions: int = 12, replication: int | None = None
) -> list[str]:
    """Create missing topics (as the admin principal); returns the names created now.

    ``replication`` None: 3 replicas when the cluster has three brokers or more, else 1.
    ``min.insync.replicas`` follows (:func:`min_insync_for`).
    """
    admin = AIOKafkaAdminClient(**access.aiokafka_kwargs(), client_id="energy-topics")
    await admin.start()
    try:
        if replication is None:
            replication = replication_for(len((await admin.describe_cluster())["brokers"]))
        configs = {"min.insync.replicas": str(min_insync_for(replication))}
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name, num_partitions=partitions, replication_factor=replication, topic_configs=configs)
            for name in ALL_TOPICS
            if name not in existing
        ]
        if not wanted:
            return []
        try:
            await admin.create_topics(wanted)
        except TopicAlreadyExistsError:
            log.info("topics were created concurrently")
        return [t.name for t in wanted]
    finally:
        await admin.close()


async def end_offsets(access: KafkaAccess) -> dict[TopicPartition, int]:
    """The high-water mark of every partition of the telemetry topics."""
    admin = AIOKafkaAdminClient(**access.aiokafka_kwargs())
    await admin.start()
    try:
        described = await admin.describe_topics(list(ALL_TOPICS))
    finally:
        await admin.close()
    tps = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
    if not tps:
        raise RuntimeError("the telemetry topics have no partitions")
    client = AIOKafkaConsumer(**access.aiokafka_kwargs(), enable_auto_commit=False)
    await client.start()
    try:
        ends: dict[TopicPartition, int] = await client.end_offsets(tps)
        return ends
    finally:
        # aiokafka's group-less coordinator re-raises the cancellation of a helper task
        # that never ran; nothing else can cancel this short-lived client.
        with contextlib.suppress(asyncio.CancelledError):
            await client.stop()
