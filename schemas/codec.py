"""Encoding of readings for Kafka, and the shared pydantic adapters.

A Kafka value is the validated reading as JSON plus ``receivedAt``: the gateway's
receive time in milliseconds since the epoch, used for ingest-to-visible latency.
The consumer re-validates every value with the same strict rules as the gateway.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from pydantic import Field, TypeAdapter

from schemas.clock import checked, plainly_in_time
from schemas.readings import MeterReading, Reading, ValidationClock, VehicleReading

READING_ADAPTER: TypeAdapter[MeterReading | VehicleReading] = TypeAdapter(Reading)


class MeterMessage(MeterReading):
    """A meter reading as published to Kafka."""

    receivedAt: Annotated[int, Field(ge=0)] | None = None


class VehicleMessage(VehicleReading):
    """A vehicle reading as published to Kafka."""

    receivedAt: Annotated[int, Field(ge=0)] | None = None


KafkaMessage = Annotated[MeterMessage | VehicleMessage, Field(discriminator="type")]
MESSAGE_ADAPTER: TypeAdapter[MeterMessage | VehicleMessage] = TypeAdapter(KafkaMessage)
# The adapter's core validator, called directly: the same validation without the adapter's
# Python-level argument handling, about 0.5 us of 2.5 us per message.
_VALIDATE_MESSAGE: Callable[[bytes], MeterMessage | VehicleMessage] = MESSAGE_ADAPTER.validator.validate_json


def encode_kafka_value(reading: MeterReading | VehicleReading, received_at_ms: int) -> bytes:
    """The Kafka value for a validated reading: its JSON with ``receivedAt`` appended.

    Serialised by pydantic's own serializer (timestamps are UTC, written with ``Z``) and
    spliced, which is about 1.5 us a reading cheaper than dumping a dict.
    """
    return reading.__pydantic_serializer__.to_json(reading)[:-1] + b',"receivedAt":%d}' % received_at_ms


def validate_reading_json(raw: bytes | str, clock: ValidationClock) -> MeterReading | VehicleReading:
    """One reading from JSON: every schema rule, then the clock rules (UTC, future skew).

    Raises ``pydantic.ValidationError``.
    """
    return checked(READING_ADAPTER.validate_json(raw), clock, "Reading")


def decode_kafka_value(raw: bytes, message_time_ms: int | None) -> MeterMessage | VehicleMessage:
    """Decode and re-validate a Kafka value, strictly, straight from the bytes.

    The future-skew rule is checked against the Kafka message's timestamp (set when the
    gateway published it), never against the consumer's clock, so a backlog drained
    later is not rejected. Raises ``pydantic.ValidationError``.
    """
    message = _VALIDATE_MESSAGE(raw)
    if plainly_in_time(message.timestamp, message_time_ms):
        return message
    now = datetime.fromtimestamp(message_time_ms / 1000, tz=UTC) if message_time_ms else None
    return checked(message, ValidationClock(now=now), "KafkaMessage")
