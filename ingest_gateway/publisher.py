"""Publishing validated readings to Kafka: a deadline per request, bounded in-flight records,
and a producer that is (re)started in the background until Kafka answers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka.errors import KafkaError

from ingest_gateway import metrics
from ingest_gateway.budget import InFlightBudget
from ingest_gateway.enqueue import PartitionRouter, Record, enqueue
from ingest_gateway.errors import KafkaUnavailable, retry_after
from ingest_gateway.producer import close_producer, make_producer, sender_alive, wait_sender_exit
from ingest_gateway.settings import GatewaySettings
from schemas import MeterReading, VehicleReading, device_id_of, encode_kafka_value, topic_for

log = logging.getLogger(__name__)

RETRY_SAFE = "retry the whole request: a reading sent twice is stored once"


class Publisher:
    """Owns the idempotent producer (acks=all) and answers for it with :class:`KafkaUnavailable`."""

    def __init__(self, settings: GatewaySettings, factory: Callable[[], Any] | None = None) -> None:
        self._s = settings
        self._factory = factory or (lambda: make_producer(settings))
        self._producer: Any = None
        self._budget = InFlightBudget(settings.max_in_flight_records)
        self._router = PartitionRouter()

    async def run(self) -> None:
        """Keep a started producer: retry while Kafka is unreachable, replace one whose sender died.

        Runs until cancelled (the app's lifespan owns it).
        """
        delay = 0.5
        while True:
            producer = self._factory()
            try:
                async with asyncio.timeout(max(5.0, self._s.produce_deadline_s)):
                    await producer.start()
            except (TimeoutError, KafkaError, OSError) as exc:
                log.warning("Kafka not reachable; retrying", extra={"error": repr(exc), "delay_s": delay})
                await close_producer(producer, 1.0)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            except asyncio.CancelledError:
                await close_producer(producer, 1.0)
                raise
            delay = 0.5
            self._producer = producer  # from here on, close() owns it if we are cancelled
            log.info("connected to Kafka")
            await wait_sender_exit(producer)
            self._producer = None
            log.error("the Kafka producer stopped working; starting a new one")
            await close_producer(producer, 1.0)

    async def close(self) -> None:
        """Flush within the deadline and close (the caller cancelled :meth:`run` first)."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await close_producer(producer, self._s.produce_deadline_s)

    async def ready(self, within_s: float = 1.0) -> bool:
        """Whether a live producer exists and a broker answers a metadata request now."""
        producer = self._producer
        if producer is None or not sender_alive(producer):
            return False
        try:
            async with asyncio.timeout(within_s):
                await producer.client.fetch_all_metadata()
        except (TimeoutError, KafkaError, OSError):
            return False
        return True

    def _unavailable(self, why: str) -> KafkaUnavailable:
        return KafkaUnavailable(
            f"{why}; nothing is acknowledged, {RETRY_SAFE}",
            headers=retry_after(self._s.retry_after_s),
            deadline_s=self._s.produce_deadline_s,
        )

    async def publish(self, readings: list[MeterReading | VehicleReading], received_ms: int) -> None:
        """Return once Kafka acknowledged every record, or raise :class:`KafkaUnavailable`
        within the deadline. Records still queued after a 503 stay in the producer (and in
        the in-flight budget) until Kafka takes them or the producer gives up on them."""
        records: list[Record] = [
            (topic_for(r.type), device_id_of(r).encode(), encode_kafka_value(r, received_ms))
            for r in readings
        ]
        await self.publish_records(records, received_ms)

    async def publish_records(self, records: list[Record], received_ms: int) -> None:
        """:meth:`publish` for records already encoded (the OCPP door's readings and session
        events): the same deadline, budget and all-or-nothing acknowledgement."""
        producer = self._producer
        if producer is None:
            raise self._unavailable("the gateway is not connected to Kafka")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._s.produce_deadline_s
        started = time.perf_counter()
        futures: list[asyncio.Future[Any]] = []
        share = 0
        late = f"Kafka did not acknowledge the write within {self._s.produce_deadline_s:g} s"
        try:
            async with asyncio.timeout_at(deadline):
                share = await self._budget.acquire(len(records))
                await enqueue(producer, records, self._router, received_ms, futures)
                settled = self._budget.release_when_settled(futures, share)
                share = 0  # released by the futures from now on
                await settled
        except TimeoutError:
            raise self._unavailable(late) from None
        except KafkaError as exc:
            raise self._unavailable(f"Kafka refused the write ({type(exc).__name__})") from None
        finally:
            if share:  # interrupted while queueing: what was queued still holds its share
                self._budget.release_when_settled(futures, share)
        failed = next((f.exception() for f in futures if f.exception() is not None), None)
        if failed is not None:
            raise self._unavailable(f"Kafka refused the write ({type(failed).__name__})")
        metrics.PRODUCE_SECONDS.observe(time.perf_counter() - started)
