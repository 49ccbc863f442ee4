"""devstack end to end: a real Kafka broker and a real PostgreSQL, stopped, killed, restarted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from devstack import Stack

TOPIC = "devstack-smoke"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """A stack on free ports in a temporary folder, always stopped afterwards."""
    stack = Stack(tmp_path / "stack")
    try:
        yield stack
    finally:
        stack.stop()


async def _create_topic(kafka: dict[str, Any]) -> None:
    admin = AIOKafkaAdminClient(**kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()


async def _produce(kafka: dict[str, Any], value: bytes) -> None:
    producer = AIOKafkaProducer(**kafka, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(TOPIC, value, key=b"k")
    finally:
        await producer.stop()


async def _consume_one(kafka: dict[str, Any], group: str) -> tuple[bytes, int]:
    """Read one message in ``group``, commit it; return it and the committed offset."""
    consumer = AIOKafkaConsumer(
        TOPIC,
        **kafka,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=60)
        await consumer.commit()
        committed = await consumer.committed(TopicPartition(TOPIC, message.partition))
    finally:
        await consumer.stop()
    assert message.value is not None
    return message.value, committed


async def _committed_offset(kafka: dict[str, Any], group: str) -> int:
    admin = AIOKafkaAdminClient(**kafka)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(meta.offset for meta in offsets.values() if meta.offset > 0)


def _committed_offset_after_restart(kafka: dict[str, Any], group: str, within_s: float = 30.0) -> int:
    """The group's committed offset once the coordinator has loaded it.

    Right after a restart the group coordinator may still be loading ``__consumer_offsets``;
    aiokafka's admin client ignores the broker's top-level "loading" error and returns no
    offsets then, so ask again until they appear (or the time is up, and report what we saw).
    """
    deadline = time.monotonic() + within_s
    seen = asyncio.run(_committed_offset(kafka, group))
    while seen == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
        seen = asyncio.run(_committed_offset(kafka, group))
    return seen


def _rows(database_url: str) -> list[tuple[int, str]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT id, body FROM notes ORDER BY id").fetchall()


def test_data_survives_clean_restart_and_crash(stack: Stack) -> None:
    stack.start()
    assert stack.kafka_bootstrap == f"127.0.0.1:{stack.kafka_port}"
    kafka = stack.kafka.client_kwargs()  # the admin: a super user
    assert stack.database_url.endswith(f"@127.0.0.1:{stack.pg_port}/energy")

    asyncio.run(_create_topic(kafka))
    asyncio.run(_produce(kafka, b"hello"))
    assert asyncio.run(_consume_one(kafka, "group-a")) == (b"hello", 1)
    with psycopg.connect(stack.database_url) as conn:
        conn.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)")
        conn.execute("INSERT INTO notes VALUES (1, 'before restart')")

    stack.stop()
    assert not stack.kafka.is_running()
    assert not stack.postgres.is_running()
    stack.start()

    assert _committed_offset_after_restart(kafka, "group-a") == 1
    assert asyncio.run(_consume_one(kafka, "group-b")) == (b"hello", 1)
    assert _rows(stack.database_url) == [(1, "before restart")]

    # A crash (SIGKILL of both process groups) loses nothing that was committed.
    with psycopg.connect(stack.database_url) as conn:
        conn.execute("INSERT INTO notes VALUES (2, 'before crash')")
    stack.kafka.kill()
    stack.postgres.kill()
    stack.start()

    assert _rows(stack.database_url) == [(1, "before restart"), (2, "before crash")]
    assert asyncio.run(_consume_one(kafka, "group-c")) == (b"hello", 1)
