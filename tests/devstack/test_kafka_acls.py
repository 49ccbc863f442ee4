"""Kafka is authenticated (SASL/SCRAM-SHA-512) and least-privilege (ACLs), as provisioned.

The matrix: each principal tries to produce a reading to telemetry.meter.v1 (with an
idempotent producer, as the gateway does, and with a plain one), to consume it in a
group of the consumer's prefix, and to read it without a group (assigned partitions).
Only the admin may do all; the gateway only produces, the consumer only consumes, a
client without credentials cannot even connect.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.conn import create_conn
from aiokafka.errors import KafkaError
from aiokafka.protocol.admin import CreateAclsRequest

from common.kafka import KafkaAccess
from devstack import Stack
from energy_ingest.kafka_acls import ALLOW, Operation, Pattern, Resource
from energy_ingest.service_env import service_env
from schemas import MeterReading, encode_kafka_value
from schemas.topics import METER_TOPIC
from tests.backends.probe import containers_chosen
from tests.support import recent_minute

ACTIONS = ("produce (idempotent)", "produce (plain)", "consume in group", "read, no group")
# principal -> may do each of ACTIONS
EXPECTED = {
    "admin": (True, True, True, True),
    "gateway": (True, True, False, False),
    "consumer": (False, False, True, True),
    "anonymous": (False, False, False, False),
}
DENIALS = {
    "KafkaConnectionError",  # no SASL handshake: the broker closes the connection
    "TopicAuthorizationFailedError",
    "GroupAuthorizationFailedError",
    "ClusterAuthorizationFailedError",
}
STEP_TIMEOUT_S = 30.0


def _client_kwargs(env: dict[str, str], principal: str) -> dict[str, Any]:
    if principal == "anonymous":
        return {"bootstrap_servers": env["KAFKA_BOOTSTRAP_SERVERS"]}
    if principal == "admin":
        return KafkaAccess.admin_from(env).aiokafka_kwargs()
    prefix = principal.upper()
    service = env | {
        "KAFKA_ADMIN_USERNAME": env[f"{prefix}_KAFKA_USERNAME"],
        "KAFKA_ADMIN_PASSWORD": env[f"{prefix}_KAFKA_PASSWORD"],
    }
    return KafkaAccess.admin_from(service).aiokafka_kwargs()


def _reading() -> bytes:
    reading = MeterReading.model_validate(
        {
            "type": "meter",
            "meterId": f"acl-{uuid.uuid4().hex[:10]}",
            "kwhConsumedAc": 0.5,
            "voltage": 230.0,
            "timestamp": recent_minute(3),
        }
    )
    return encode_kafka_value(reading, 0)


async def _produce(kwargs: dict[str, Any], idempotent: bool) -> str:
    """ "ok" once the broker acknowledged a valid reading, else the error's class name."""
    producer = AIOKafkaProducer(**kwargs, acks="all", enable_idempotence=idempotent, request_timeout_ms=5000)
    try:
        async with asyncio.timeout(STEP_TIMEOUT_S):
            await producer.start()
            await producer.send_and_wait(METER_TOPIC, _reading(), key=b"acl-probe")
        return "ok"
    except (KafkaError, TimeoutError) as exc:
        return type(exc).__name__
    finally:
        await producer.stop()


async def _consume(kwargs: dict[str, Any]) -> str:
    """ "ok" once a record was read and its offset committed in a group, else the error."""
    consumer = AIOKafkaConsumer(
        METER_TOPIC,
        **kwargs,
        group_id=f"energy-ingest-acl-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        request_timeout_ms=5000,
    )
    try:
        async with asyncio.timeout(STEP_TIMEOUT_S):
            await consumer.start()
            while not (batch := await consumer.getmany(timeout_ms=1000, max_records=1)):
                pass
            await consumer.commit()
        return "ok" if batch else "nothing read"
    except (KafkaError, TimeoutError) as exc:
        return type(exc).__name__
    finally:
        await consumer.stop()


async def _read_assigned(kwargs: dict[str, Any]) -> str:
    """ "ok" once a record was fetched without a group (every partition assigned), else the error."""
    consumer = AIOKafkaConsumer(
        METER_TOPIC, **kwargs, auto_offset_reset="earliest", enable_auto_commit=False, request_timeout_ms=5000
    )
    try:
        async with asyncio.timeout(STEP_TIMEOUT_S):
            await consumer.start()
            while not await consumer.getmany(timeout_ms=1000, max_records=1):
                pass
        return "ok"
    except (KafkaError, TimeoutError) as exc:
        return type(exc).__name__
    finally:
        await consumer.stop()


async def _try_all(kwargs: dict[str, Any]) -> tuple[str, ...]:
    return (
        await _produce(kwargs, idempotent=True),
        await _produce(kwargs, idempotent=False),
        await _consume(kwargs),
        await _read_assigned(kwargs),
    )


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_acl_matrix(stack_env: dict[str, str]) -> None:
    # admin first: the topic then holds a record for the others to try to read
    results = {p: asyncio.run(_try_all(_client_kwargs(stack_env, p))) for p in EXPECTED}

    print(f"\n{'principal':10} " + " ".join(f"{a:32}" for a in ACTIONS))
    for principal, outcomes in results.items():
        print(f"{principal:10} " + " ".join(f"{o:32}" for o in outcomes))

    for principal, allowed in EXPECTED.items():
        for action, may, outcome in zip(ACTIONS, allowed, results[principal], strict=True):
            if may:
                assert outcome == "ok", f"{principal} should {action}: {outcome}"
            else:
                assert outcome in DENIALS, f"{principal} must not {action}: {outcome}"


def test_consumer_principal_is_confined_to_its_group_prefix(stack_env: dict[str, str]) -> None:
    async def other_group() -> str:
        consumer = AIOKafkaConsumer(
            METER_TOPIC,
            **_client_kwargs(stack_env, "consumer"),
            group_id=f"someone-else-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        try:
            async with asyncio.timeout(STEP_TIMEOUT_S):
                await consumer.start()
                await consumer.getmany(timeout_ms=3000)
            return "ok"
        except (KafkaError, TimeoutError) as exc:
            return type(exc).__name__
        finally:
            await consumer.stop()

    assert asyncio.run(other_group()) == "GroupAuthorizationFailedError"


def test_each_service_process_gets_only_its_own_kafka_principal(stack_env: dict[str, str]) -> None:
    gateway, consumer = service_env("gateway", stack_env), service_env("consumer", stack_env)
    assert gateway["GATEWAY_KAFKA_PASSWORD"] == stack_env["GATEWAY_KAFKA_PASSWORD"]
    assert consumer["CONSUMER_KAFKA_PASSWORD"] == stack_env["CONSUMER_KAFKA_PASSWORD"]
    assert "CONSUMER_KAFKA_PASSWORD" not in gateway
    assert "GATEWAY_KAFKA_PASSWORD" not in consumer
    for env in (gateway, consumer, service_env("analytics", stack_env)):
        assert "KAFKA_ADMIN_PASSWORD" not in env
    assert service_env("topics", stack_env)["KAFKA_ADMIN_PASSWORD"]  # tools keep the admin's


def test_the_controller_port_refuses_anonymous_admin_requests(
    stack: Stack, stack_env: dict[str, str]
) -> None:
    """The KRaft controller listener takes SASL/PLAIN for ``admin`` only: a local process
    cannot create ACLs there as the super user ANONYMOUS (it could, were it PLAINTEXT)."""
    if containers_chosen():
        pytest.skip("the Kafka container (Docker) keeps its controller listener on its own loopback")

    async def create_acl() -> str:
        try:
            conn = await create_conn("127.0.0.1", stack.kafka_controller_port, request_timeout_ms=5000)
        except (KafkaError, OSError) as exc:
            return type(exc).__name__
        try:
            request = CreateAclsRequest(
                Resource.TOPIC, "*", Pattern.LITERAL, "User:intruder", "*", Operation.READ, ALLOW
            )
            response = await conn.send(request)
            codes = [code for code, _ in response.creation_responses]
            return "created" if codes == [0] else f"refused {codes}"
        except (KafkaError, OSError) as exc:
            return type(exc).__name__
        finally:
            conn.close()

    outcome = asyncio.run(create_acl())
    print(f"\nanonymous CreateAcls on the controller port: {outcome}")
    assert outcome != "created"
