"""The Kafka side of a worker: the group consumer, and polling that survives broker trouble."""

from __future__ import annotations

import asyncio
import logging
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer
from aiokafka.consumer.fetcher import ConsumerRecord
from aiokafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor
from aiokafka.errors import GroupAuthorizationFailedError, KafkaError, TopicAuthorizationFailedError
from aiokafka.structs import TopicPartition

from consumer import metrics
from consumer.errors import KafkaFatalError
from consumer.settings import ConsumerSettings

log = logging.getLogger(__name__)

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
Records: TypeAlias = dict[TopicPartition, list[Record]]
POLL_ERROR_PAUSE_S = 0.5


def group_consumer(settings: ConsumerSettings) -> AIOKafkaConsumer:
    """A consumer of the group with no auto-commit: PostgreSQL holds the offsets that count."""
    return AIOKafkaConsumer(
        **settings.kafka_access().aiokafka_kwargs(),
        group_id=settings.group_id,
        group_instance_id=settings.instance_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.batch_max_records,
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_ms,
        max_poll_interval_ms=settings.max_poll_interval_ms,
        rebalance_timeout_ms=settings.rebalance_timeout_ms,
        partition_assignment_strategy=(StickyPartitionAssignor,),
        fetch_max_wait_ms=min(500, max(settings.batch_max_wait_ms, 10)),
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )


async def poll(consumer: AIOKafkaConsumer, timeout_ms: int, max_records: int | None = None) -> Records:
    """``getmany``; a Kafka error is logged and answered with nothing, unless it can never pass.

    aiokafka hands background errors (a failed rejoin, a fetch error) to the next
    ``getmany``; the client keeps recovering by itself, so the worker just polls again.
    """
    try:
        data: Records = await consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
    except (GroupAuthorizationFailedError, TopicAuthorizationFailedError) as exc:
        raise KafkaFatalError(f"Kafka refused this consumer: {exc!r}") from exc
    except KafkaError as exc:
        metrics.RETRIES.labels("kafka").inc()
        log.warning("kafka poll failed; polling again", extra={"error": repr(exc)})
        await asyncio.sleep(POLL_ERROR_PAUSE_S)
        return {}
    return data
