"""Create the telemetry topics (idempotent)."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas.topics import ALL_TOPICS

log = logging.getLogger(__name__)


async def create_topics(bootstrap: str, partitions: int = 12, replication: int = 1) -> list[str]:
    """Create missing topics; returns the names created now."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="energy-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name, num_partitions=partitions, replication_factor=replication)
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
