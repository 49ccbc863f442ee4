"""The aiokafka producer: how it is built, watched and closed.

aiokafka has no public "is the producer still usable" flag: a fatal error (e.g.
OutOfOrderSequenceNumber after a broker lost data) ends its background sender task,
after which every send fails. The helpers here look at that task so the publisher can
replace a dead producer, and close a producer without hanging while Kafka is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from ingest_gateway.settings import GatewaySettings

log = logging.getLogger(__name__)


def make_producer(settings: GatewaySettings) -> Any:
    """An idempotent producer (acks=all) tuned by the settings; not started."""
    return AIOKafkaProducer(
        **settings.kafka_access().aiokafka_kwargs(),
        acks="all",
        enable_idempotence=True,
        linger_ms=settings.linger_ms,
        max_batch_size=settings.max_batch_bytes,
        compression_type=None if settings.compression == "none" else settings.compression,
        request_timeout_ms=max(1000, int(settings.produce_deadline_s * 1000)),
        client_id="energy-gateway",
    )


def _sender_task(producer: Any) -> asyncio.Task[None] | None:
    sender = getattr(producer, "_sender", None)
    return getattr(sender, "sender_task", None)


def sender_alive(producer: Any) -> bool:
    """Whether the producer's background sender still runs (unknown counts as alive)."""
    task = _sender_task(producer)
    return task is None or not task.done()


async def wait_sender_exit(producer: Any) -> None:
    """Return when the producer's background sender has ended (it never should)."""
    task = _sender_task(producer)
    if task is not None:
        await asyncio.wait([task])
        if not task.cancelled() and task.exception() is not None:
            log.error("the Kafka producer failed", extra={"error": repr(task.exception())})


async def close_producer(producer: Any, grace_s: float) -> None:
    """Flush for up to ``grace_s``, then drop what is still queued and close the connections."""
    try:
        async with asyncio.timeout(grace_s):
            await producer.stop()
        return
    except TimeoutError:
        log.warning("Kafka did not take the queued records in time; dropping them (never acknowledged)")
    except (KafkaError, OSError) as exc:
        log.warning("error while closing the Kafka producer", extra={"error": repr(exc)})
    # stop() was cut short while flushing: stop the sender (it first lets its in-flight
    # requests finish), then fail what is still queued, then drop the connections.
    task = _sender_task(producer)
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, KafkaError):
            await task
    accumulator = getattr(producer, "_message_accumulator", None)
    if accumulator is not None:
        accumulator.fail_all(KafkaError("the gateway is shutting down"))
    with contextlib.suppress(KafkaError, OSError):
        await producer.client.close()
