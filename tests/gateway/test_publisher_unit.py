"""The publisher's producer supervision, with a stand-in producer (no Kafka): a producer
whose start fails is retried, and one whose background sender dies is replaced."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from aiokafka.errors import KafkaConnectionError

from ingest_gateway.errors import KafkaUnavailable
from ingest_gateway.publisher import Publisher
from ingest_gateway.settings import GatewaySettings


class StandInProducer:
    """Just what the publisher's supervision touches of an AIOKafkaProducer."""

    def __init__(self, name: str, started: asyncio.Queue[StandInProducer], start_fails: bool = False) -> None:
        self.name = name
        self._started = started
        self.start_fails = start_fails
        self.stopped = False
        self._sender = SimpleNamespace(sender_task=None)
        self.client = SimpleNamespace(fetch_all_metadata=self._metadata)
        self._crash: asyncio.Future[None] | None = None

    async def _metadata(self) -> object:
        return object()

    async def start(self) -> None:
        if self.start_fails:
            raise KafkaConnectionError("connection refused")
        self._crash = asyncio.get_running_loop().create_future()
        self._sender.sender_task = asyncio.ensure_future(self._crash)
        self._started.put_nowait(self)

    def crash(self) -> None:
        assert self._crash is not None
        self._crash.set_exception(RuntimeError("OutOfOrderSequenceNumber"))

    async def stop(self) -> None:
        self.stopped = True


async def test_failed_start_is_retried_and_a_dead_producer_replaced() -> None:
    started: asyncio.Queue[StandInProducer] = asyncio.Queue()
    made: list[StandInProducer] = []
    plan = iter([StandInProducer(n, started, start_fails=n == "a") for n in "abc"])

    def factory() -> StandInProducer:
        made.append(next(plan))
        return made[-1]

    publisher = Publisher(GatewaySettings(auth_disabled=True), factory=factory)
    with pytest.raises(KafkaUnavailable, match="not connected"):
        await publisher.publish([], 0)  # before any producer started: an immediate 503
    runner = asyncio.create_task(publisher.run())
    try:
        async with asyncio.timeout(10):
            assert (await started.get()).name == "b"
        assert made[0].stopped  # the failed attempt was closed, not leaked
        assert await publisher.ready()
        made[1].crash()
        async with asyncio.timeout(10):
            assert (await started.get()).name == "c"
        assert made[1].stopped
        assert await publisher.ready()
    finally:
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner
    await publisher.close()
    assert made[2].stopped
    assert not await publisher.ready()
