"""The containers backend for real: Kafka takes SASL clients with the devstack users and
ACLs, PostgreSQL answers, and stop/kill then start keep the address and the data.

Needs a Docker engine; skips without one (this is the one skip CI allows)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from common.kafka import KafkaAccess
from energy_ingest.provision import provision
from schemas.topics import METER_TOPIC
from tests.backends.containers import ContainerStack, postgres_container
from tests.backends.probe import docker_unreachable

SKIP_REASON = "no Docker engine reachable (testcontainers needs one)"
STEP_TIMEOUT_S = 30.0


def _require_docker() -> None:
    why = docker_unreachable()
    if why is not None:
        pytest.skip(f"{SKIP_REASON}: {why}")


@pytest.fixture(scope="module")
def containers() -> Iterator[ContainerStack]:
    _require_docker()
    stack = ContainerStack()
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def _as(env: dict[str, str], user: str, password: str | None = None) -> dict[str, Any]:
    """aiokafka keyword arguments of ``user`` (``admin``, ``gateway``, ``consumer``)."""
    prefix = "KAFKA_ADMIN" if user == "admin" else f"{user.upper()}_KAFKA"
    principal = env | {
        "KAFKA_ADMIN_USERNAME": env[f"{prefix}_USERNAME"],
        "KAFKA_ADMIN_PASSWORD": password or env[f"{prefix}_PASSWORD"],
    }
    return KafkaAccess.admin_from(principal).aiokafka_kwargs()


async def _produce(kwargs: dict[str, Any], topic: str, value: bytes) -> str:
    producer = AIOKafkaProducer(**kwargs, acks="all", enable_idempotence=True, request_timeout_ms=5000)
    try:
        async with asyncio.timeout(STEP_TIMEOUT_S):
            await producer.start()
            await producer.send_and_wait(topic, value, key=b"k")
        return "ok"
    except (KafkaError, TimeoutError) as exc:
        return type(exc).__name__
    finally:
        await producer.stop()


async def _consume(kwargs: dict[str, Any], topic: str, group: str) -> list[bytes] | str:
    consumer = AIOKafkaConsumer(
        topic, **kwargs, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False
    )
    try:
        async with asyncio.timeout(STEP_TIMEOUT_S):
            await consumer.start()
            while not (batch := await consumer.getmany(timeout_ms=1000)):
                pass
            await consumer.commit()
        return [m.value for records in batch.values() for m in records if m.value is not None]
    except (KafkaError, TimeoutError) as exc:
        return type(exc).__name__
    finally:
        await consumer.stop()


async def _create_topic(kwargs: dict[str, Any], topic: str) -> None:
    admin = AIOKafkaAdminClient(**kwargs)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


def test_kafka_takes_a_sasl_produce_and_consume(containers: ContainerStack) -> None:
    env = containers.kafka_env()
    admin = _as(env, "admin")
    topic = f"backend-check-{uuid.uuid4().hex[:8]}"
    asyncio.run(_create_topic(admin, topic))
    assert asyncio.run(_produce(admin, topic, b"hello")) == "ok"
    assert asyncio.run(_consume(admin, topic, "backend-check")) == [b"hello"]
    # a wrong password is refused: SCRAM, not anonymous access
    assert asyncio.run(_produce(_as(env, "admin", "wrong"), topic, b"x")) != "ok"


def test_the_service_principals_get_devstacks_acls(containers: ContainerStack, tmp_path: Path) -> None:
    env = provision(containers.database_url, containers.kafka_env(), tmp_path / "secrets.json", partitions=2)
    value = f"acl-{uuid.uuid4().hex}".encode()
    assert asyncio.run(_produce(_as(env, "gateway"), METER_TOPIC, value)) == "ok"
    read = asyncio.run(
        _consume(_as(env, "consumer"), METER_TOPIC, f"energy-ingest-check-{uuid.uuid4().hex[:6]}")
    )
    assert isinstance(read, list)
    assert value in read
    assert asyncio.run(_consume(_as(env, "gateway"), METER_TOPIC, "energy-ingest-gw")) in {
        "TopicAuthorizationFailedError",
        "GroupAuthorizationFailedError",
    }
    assert asyncio.run(_produce(_as(env, "consumer"), METER_TOPIC, b"x")) != "ok"


def test_postgres_answers_with_devstacks_settings(containers: ContainerStack) -> None:
    with psycopg.connect(containers.database_url) as conn:
        version, database, connections = conn.execute(
            "SELECT version(), current_database(), current_setting('max_connections')"
        ).fetchone() or ("", "", "")
    assert str(version).startswith("PostgreSQL 16")
    assert database == "energy"
    assert connections == "200"


def test_stop_kill_and_start_keep_address_and_data(containers: ContainerStack) -> None:
    env = containers.kafka_env()
    admin = _as(env, "admin")
    topic = f"backend-restart-{uuid.uuid4().hex[:8]}"
    asyncio.run(_create_topic(admin, topic))
    assert asyncio.run(_produce(admin, topic, b"before")) == "ok"
    with psycopg.connect(containers.database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE backend_restart (note text)")
        conn.execute("INSERT INTO backend_restart VALUES ('before')")

    containers.kafka.stop()
    containers.postgres.kill()
    assert not containers.kafka.is_running()
    assert not containers.postgres.is_running()
    containers.kafka.start()
    containers.postgres.start()

    assert containers.kafka_env() == env
    assert asyncio.run(_consume(admin, topic, "after-restart")) == [b"before"]
    with psycopg.connect(containers.database_url) as conn:
        assert conn.execute("SELECT note FROM backend_restart").fetchall() == [("before",)]


def test_the_analytics_server_is_a_container_of_its_own() -> None:
    _require_docker()
    with postgres_container() as url, psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("postgres",)
