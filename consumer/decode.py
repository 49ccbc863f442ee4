"""Decode and validate Kafka records into a batch; bad ones become rejects."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from consumer.batch import Batch, Reject
from consumer.reject_reasons import reject_detail, reject_reason
from consumer.sessions import add_session
from schemas import METER_TOPIC, VEHICLE_TOPIC, KafkaDecoder, MeterMessage
from schemas.codec import DEFAULT_DECODER
from schemas.topics import SESSION_TOPIC


def add_records(
    batch: Batch,
    records: Iterable[ConsumerRecord[bytes, bytes]],
    oldest_day: date | None,
    decode: KafkaDecoder | None = None,
) -> None:
    """Decode ``records`` (all of one partition, in offset order) into ``batch``.

    ``decode`` applies the worker's time rules (default: the rules' defaults); a reading
    before ``oldest_day`` (the retention horizon) is rejected as ``expired``.
    """
    decoder = decode or DEFAULT_DECODER
    # The records of one gateway request share a receive time: convert each once.
    received_at: dict[int, datetime] = {}
    for rec in records:
        raw: bytes = rec.value if rec.value is not None else b""
        if rec.topic == SESSION_TOPIC:  # OCPP transaction steps, not readings
            add_session(batch, rec, raw, decoder)
            continue
        reject = None
        try:
            msg = decoder(raw, rec.timestamp)
        except ValidationError as exc:
            reject = (reject_reason(exc), reject_detail(exc))
        else:
            day = msg.timestamp.date()
            expected_topic = METER_TOPIC if isinstance(msg, MeterMessage) else VEHICLE_TOPIC
            if rec.topic != expected_topic:
                reject = ("wrong_topic", f"a {msg.type} reading on {rec.topic}")
            elif oldest_day is not None and day < oldest_day:
                reject = (
                    "expired",
                    f"reading day {day} is before the retention horizon {oldest_day} (RETENTION_DAYS)",
                )
        if reject is not None:
            batch.rejects.append(
                Reject(rec.topic, rec.partition, rec.offset, rec.key, raw, reject[0], reject[1])
            )
            continue
        received = None
        if msg.receivedAt is not None:
            received = received_at.get(msg.receivedAt)
            if received is None:
                received = received_at[msg.receivedAt] = datetime.fromtimestamp(msg.receivedAt / 1000, UTC)
            batch.received_at_ms[msg.receivedAt] += 1
        batch.days.add(day)
        if isinstance(msg, MeterMessage):
            # The schema guarantees exactly one of the two energies.
            if msg.kwhConsumedAc is not None:
                batch.meters.append(
                    (
                        msg.meterId,
                        msg.timestamp,
                        msg.kwhConsumedAc,
                        msg.voltage,
                        received,
                        rec.partition,
                        rec.offset,
                    )
                )
            else:
                assert msg.kwhRegisterAc is not None
                batch.registers.append(
                    (
                        msg.meterId,
                        msg.timestamp,
                        msg.kwhRegisterAc,
                        msg.voltage,
                        received,
                        rec.partition,
                        rec.offset,
                    )
                )
        else:
            batch.vehicles.append(
                (
                    msg.vehicleId,
                    msg.timestamp,
                    msg.soc,
                    msg.kwhDeliveredDc,
                    msg.batteryTemp,
                    received,
                    rec.partition,
                    rec.offset,
                )
            )
