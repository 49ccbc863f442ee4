"""Helpers of the gateway tests: a gateway process handle, readings, Kafka end offsets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from common.kafka import KafkaAccess
from energy_ingest.procs import ServiceProcess
from energy_ingest.topics import end_offsets as topic_end_offsets
from tests.support import iso, recent_minute


@dataclass
class Gateway:
    """A running gateway process and how to talk to it."""

    proc: ServiceProcess
    url: str
    env: dict[str, str]

    def client(self, token: str | None = None, **headers: str) -> httpx.Client:
        """An HTTP client; ``token`` defaults to the fleet token, "" sends none."""
        token = self.env["INGEST_TOKEN"] if token is None else token
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=auth | headers, timeout=30)

    def metric(self, line_prefix: str) -> float:
        """The value of the first /metrics sample line starting with ``line_prefix``."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        for line in text.splitlines():
            if line.startswith(line_prefix):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"no metric line starts with {line_prefix!r}")


def meter(device: str, at: datetime | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid meter reading (overrides may break it)."""
    body = {
        "type": "meter",
        "meterId": device,
        "kwhConsumedAc": 1.25,
        "voltage": 239.5,
        "timestamp": iso(at or recent_minute(5)),
    }
    return body | overrides


def vehicle(device: str, at: datetime | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid vehicle reading (overrides may break it)."""
    body = {
        "type": "vehicle",
        "vehicleId": device,
        "soc": 55.0,
        "kwhDeliveredDc": 1.1,
        "batteryTemp": 30.5,
        "timestamp": iso(at or recent_minute(5)),
    }
    return body | overrides


def end_offsets(env: Mapping[str, str]) -> dict[tuple[str, int], int]:
    """The end offset of every partition of the telemetry topics (as the env's Kafka admin)."""
    ends = asyncio.run(topic_end_offsets(KafkaAccess.admin_from(env)))
    return {(tp.topic, tp.partition): n for tp, n in ends.items()}


async def _read(
    env: Mapping[str, str], start: dict[tuple[str, int], int], end: dict[tuple[str, int], int]
) -> list[Any]:
    wanted = {tp: n for tp, n in end.items() if n > start.get(tp, 0)}
    kwargs = KafkaAccess.admin_from(env).aiokafka_kwargs()
    consumer = AIOKafkaConsumer(**kwargs, enable_auto_commit=False)
    await consumer.start()
    out: list[Any] = []
    try:
        parts = [TopicPartition(*tp) for tp in wanted]
        consumer.assign(parts)
        for tp in parts:
            consumer.seek(tp, start.get((tp.topic, tp.partition), 0))
        expected = sum(n - start.get(tp, 0) for tp, n in wanted.items())
        async with asyncio.timeout(30):
            while len(out) < expected:
                batch = await consumer.getmany(timeout_ms=1000)
                for tp, messages in batch.items():
                    out.extend(m for m in messages if m.offset < wanted[(tp.topic, tp.partition)])
    finally:
        await consumer.stop()
    return out


def read_messages(
    env: Mapping[str, str], start: dict[tuple[str, int], int], end: dict[tuple[str, int], int]
) -> list[Any]:
    """Every Kafka message between two end-offset snapshots."""
    return asyncio.run(_read(env, start, end))


@contextmanager
def kafka_restored(stack: Any) -> Iterator[None]:
    """Whatever happens inside, the shared broker runs again afterwards."""
    try:
        yield
    finally:
        if not stack.kafka.is_running():
            stack.kafka.start()
