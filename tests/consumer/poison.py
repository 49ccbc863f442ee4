"""Poison messages, produced straight into the topics (the gateway would refuse them)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from aiokafka.structs import TopicPartition

from common.kafka import KafkaAccess
from schemas.topics import METER_TOPIC, VEHICLE_TOPIC
from tests.support import iso


@dataclass(frozen=True)
class Poison:
    """One bad message and the reject reason it must get."""

    name: str
    topic: str
    value: bytes
    reason: str


def _meter(ts: str, **fields: object) -> bytes:
    body = {"type": "meter", "meterId": "m-poison", "kwhConsumedAc": 1.0, "voltage": 230.0, "timestamp": ts}
    body.update(fields)
    return _json(body)


def _json(body: dict[str, object]) -> bytes:
    parts = []
    for k, v in body.items():
        value = v if isinstance(v, str) and v.startswith("RAW:") else None
        text = value[4:] if value else (f'"{v}"' if isinstance(v, str) else str(v).lower())
        parts.append(f'"{k}": {text}')
    return ("{" + ", ".join(parts) + "}").encode()


def catalogue() -> list[Poison]:
    """Every kind of bad message, with the reason it must be rejected for."""
    ts = iso(datetime.now(UTC).replace(microsecond=0))
    vehicle_ok = (
        f'{{"type": "vehicle", "vehicleId": "v-poison", "soc": 50.0, "kwhDeliveredDc": 1.0, '
        f'"batteryTemp": 30.0, "timestamp": "{ts}"}}'
    ).encode()
    return [
        Poison("truncated JSON", METER_TOPIC, b'{"type": "meter", "meterId": ', "invalid_json"),
        Poison("not JSON at all", VEHICLE_TOPIC, b"\xff\xfe garbage \x01", "invalid_json"),
        Poison("NUL bytes", METER_TOPIC, b"\x00\x00\x00\x00", "invalid_json"),
        Poison("raw NUL inside a string", METER_TOPIC, _meter(ts, meterId="m\x00x"), "invalid_json"),
        Poison(
            "escaped NUL in the id", VEHICLE_TOPIC, vehicle_ok.replace(b"v-poison", b"v\\u0000x"), "invalid"
        ),
        Poison("empty value", VEHICLE_TOPIC, b"", "invalid_json"),
        Poison("number as string", METER_TOPIC, _meter(ts, kwhConsumedAc="12"), "invalid"),
        Poison("boolean soc", VEHICLE_TOPIC, vehicle_ok.replace(b'"soc": 50.0', b'"soc": true'), "invalid"),
        Poison("NaN", METER_TOPIC, _meter(ts, kwhConsumedAc="RAW:NaN"), "invalid"),
        Poison("Infinity", VEHICLE_TOPIC, vehicle_ok.replace(b"30.0", b"1e999"), "invalid"),
        Poison("unknown type", METER_TOPIC, _meter(ts, type="toaster"), "unknown_type"),
        Poison("meter on the vehicle topic", VEHICLE_TOPIC, _meter(ts), "wrong_topic"),
        Poison("vehicle on the meter topic", METER_TOPIC, vehicle_ok, "wrong_topic"),
        Poison("naive timestamp", METER_TOPIC, _meter(ts[:-1]), "invalid"),
        Poison("unknown field", METER_TOPIC, _meter(ts, extra=1), "invalid"),
    ]


@dataclass(frozen=True)
class Produced:
    """Where a poison message landed."""

    poison: Poison
    tp: TopicPartition
    offset: int
    key: bytes


async def _produce(env: Mapping[str, str], items: list[tuple[Poison, int]]) -> list[Produced]:
    producer = AIOKafkaProducer(**KafkaAccess.admin_from(env).aiokafka_kwargs(), acks="all")
    await producer.start()
    try:
        out = []
        for i, (p, partition) in enumerate(items):
            key = f"poison-{i}".encode()
            meta = await producer.send_and_wait(p.topic, p.value, key=key, partition=partition)
            out.append(Produced(p, TopicPartition(p.topic, partition), meta.offset, key))
        return out
    finally:
        await producer.stop()


def produce(env: Mapping[str, str], items: list[tuple[Poison, int]]) -> list[Produced]:
    """Send each (poison, partition) as the env's Kafka admin (past the gateway, as an
    intruder with broker access would); returns where each one landed."""
    return asyncio.run(_produce(env, items))


def spread(partitions: dict[str, int], copies: int = 1) -> list[tuple[Poison, int]]:
    """Every poison ``copies`` times, round-robin over its topic's partitions."""
    items = []
    counter = dict.fromkeys(partitions, 0)
    for _ in range(copies):
        for p in catalogue():
            items.append((p, counter[p.topic] % partitions[p.topic]))
            counter[p.topic] += 1
    return items
