"""Publishing validated readings to Kafka, with a deadline and bounded in-flight records."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from ingest_gateway import metrics
from ingest_gateway.budget import InFlightBudget
from ingest_gateway.errors import KafkaUnavailable
from ingest_gateway.settings import GatewaySettings
from schemas import MeterReading, VehicleReading, device_id_of, encode_kafka_value, topic_for


class Publisher:
    """Owns the idempotent producer (acks=all)."""

    def __init__(self, settings: GatewaySettings) -> None:
        self._s = settings
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=settings.linger_ms,
            max_batch_size=settings.max_batch_bytes,
            request_timeout_ms=max(1000, int(settings.produce_deadline_s * 1000)),
            client_id="energy-gateway",
        )
        self._budget = InFlightBudget(settings.max_in_flight_records)
        self._started = False

    async def start(self) -> None:
        """Connect; keeps trying in the background semantics of aiokafka on failure."""
        await self._producer.start()
        self._started = True

    async def stop(self) -> None:
        if self._started:
            await self._producer.stop()

    async def ready(self, within_s: float = 2.0) -> bool:
        """Whether a broker answers a metadata request now."""
        if not self._started:
            return False
        try:
            async with asyncio.timeout(within_s):
                await self._producer.client.fetch_all_metadata()
        except (TimeoutError, KafkaError, OSError):
            return False
        return True

    async def publish(self, readings: list[MeterReading | VehicleReading], received_ms: int) -> None:
        """Return once Kafka acknowledged every record, or raise :class:`KafkaUnavailable`."""
        n = len(readings)
        retry_after = {"Retry-After": str(self._s.retry_after_s)}
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._s.produce_deadline_s):
                async with self._budget.hold(n):
                    futures = [
                        await self._producer.send(
                            topic_for(r.type),
                            value=encode_kafka_value(r, received_ms),
                            key=device_id_of(r).encode(),
                        )
                        for r in readings
                    ]
                    await asyncio.gather(*futures)
        except TimeoutError:
            raise KafkaUnavailable(
                f"Kafka did not acknowledge the write within {self._s.produce_deadline_s:g} s; "
                "nothing is acknowledged, retry later",
                headers=retry_after,
            ) from None
        except KafkaError as exc:
            raise KafkaUnavailable(
                f"Kafka refused the write ({exc.__class__.__name__}); retry later", headers=retry_after
            ) from None
        metrics.PRODUCE_SECONDS.observe(time.perf_counter() - started)
