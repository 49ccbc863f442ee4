"""Every rule of the reading schema: what it accepts, what it rejects, and the message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from schemas import (
    MeterReading,
    ValidationClock,
    VehicleReading,
    decode_kafka_value,
    encode_kafka_value,
    validate_reading_json,
)

NOW = datetime(2023, 10, 27, 10, 2, tzinfo=UTC)
METER: dict[str, Any] = {
    "type": "meter",
    "meterId": "m-123",
    "kwhConsumedAc": 50.5,
    "voltage": 240,
    "timestamp": "2023-10-27T10:00:00Z",
}
VEHICLE: dict[str, Any] = {
    "type": "vehicle",
    "vehicleId": "v-tesla-01",
    "soc": 85.0,
    "kwhDeliveredDc": 48.0,
    "batteryTemp": 35.2,
    "timestamp": "2023-10-27T10:00:00Z",
}


def validate(body: dict[str, Any] | bytes, now: datetime | None = NOW) -> MeterReading | VehicleReading:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return validate_reading_json(raw, ValidationClock(now=now))


def errors_of(body: dict[str, Any] | bytes) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        validate(body)
    return [
        (".".join(str(p) for p in e["loc"] if p not in ("meter", "vehicle")), e["msg"])
        for e in info.value.errors()
    ]


def test_seed_payloads_are_accepted_and_normalised_to_utc() -> None:
    meter = validate(METER)
    vehicle = validate(VEHICLE)
    assert isinstance(meter, MeterReading)
    assert isinstance(vehicle, VehicleReading)
    assert meter.kwhConsumedAc == 50.5
    assert meter.voltage == 240.0
    assert vehicle.soc == 85.0
    assert vehicle.batteryTemp == 35.2
    shifted = validate({**METER, "timestamp": "2023-10-27T12:00:00+02:00"})
    assert shifted.timestamp == datetime(2023, 10, 27, 10, 0, tzinfo=UTC)
    assert shifted.timestamp.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"kwhConsumedAc": -0.1}, "kwhConsumedAc", "greater than or equal to 0"),
        ({"kwhConsumedAc": 1000.5}, "kwhConsumedAc", "less than or equal to 1000"),
        ({"kwhConsumedAc": "50.5"}, "kwhConsumedAc", "valid number"),
        ({"kwhConsumedAc": True}, "kwhConsumedAc", "valid number"),
        ({"voltage": 1200}, "voltage", "less than or equal to 1000"),
        ({"voltage": -1}, "voltage", "greater than or equal to 0"),
        ({"meterId": ""}, "meterId", "at least 1 character"),
        ({"meterId": "m" * 65}, "meterId", "at most 64 characters"),
        ({"meterId": "m 123"}, "meterId", "should match pattern"),
        ({"meterId": "m/123"}, "meterId", "should match pattern"),
        ({"meterId": 123}, "meterId", "valid string"),
        ({"timestamp": "2023-10-27T10:00:00"}, "timestamp", "timezone"),
        ({"timestamp": "yesterday"}, "timestamp", "valid datetime"),
        ({"timestamp": 1698400800}, "timestamp", "valid datetime"),
        ({"timestamp": "2023-10-27T10:07:01Z"}, "timestamp", "300 s in the future"),
        ({"extra": 1}, "extra", "Extra inputs are not permitted"),
    ],
)
def test_meter_rules(change: dict[str, Any], field: str, message: str) -> None:
    errs = errors_of({**METER, **change})
    assert any(f == field and message in m for f, m in errs), errs


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"soc": 100.1}, "soc", "less than or equal to 100"),
        ({"soc": -1}, "soc", "greater than or equal to 0"),
        ({"kwhDeliveredDc": -5}, "kwhDeliveredDc", "greater than or equal to 0"),
        ({"batteryTemp": 121}, "batteryTemp", "less than or equal to 120"),
        ({"batteryTemp": -51}, "batteryTemp", "greater than or equal to -50"),
        ({"vehicleId": "v\u0000x"}, "vehicleId", "should match pattern"),
        ({"meterId": "m-1"}, "meterId", "Extra inputs are not permitted"),
    ],
)
def test_vehicle_rules(change: dict[str, Any], field: str, message: str) -> None:
    errs = errors_of({**VEHICLE, **change})
    assert any(f == field and message in m for f, m in errs), errs


def test_missing_fields_are_named() -> None:
    body = dict(VEHICLE)
    del body["soc"]
    del body["timestamp"]
    errs = errors_of(body)
    assert ("soc", "Field required") in errs
    assert ("timestamp", "Field required") in errs


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"type":"meter","meterId":"m-1","kwhConsumedAc":NaN,"voltage":1,"timestamp":"2023-10-27T10:00:00Z"}',
         "kwhConsumedAc"),
        (b'{"type":"meter","meterId":"m-1","kwhConsumedAc":Infinity,"voltage":1,"timestamp":"2023-10-27T10:00:00Z"}',
         "kwhConsumedAc"),
        # -Infinity would also break ge=0; the finiteness rule must be the one that refuses it.
        (b'{"type":"meter","meterId":"m-1","kwhConsumedAc":1,"voltage":-Infinity,"timestamp":"2023-10-27T10:00:00Z"}',
         "voltage"),
    ],
)  # fmt: skip
def test_non_finite_numbers_are_rejected(raw: bytes, field: str) -> None:
    assert errors_of(raw) == [(field, "Input should be a finite number")]


def test_unknown_or_missing_type() -> None:
    assert "does not match any of the expected tags" in errors_of({**METER, "type": "boat"})[0][1]
    no_type = dict(METER)
    del no_type["type"]
    assert "Unable to extract tag using discriminator 'type'" in errors_of(no_type)[0][1]


def test_future_skew_limit_is_configurable_and_skippable() -> None:
    future = {**METER, "timestamp": "2023-10-27T10:30:00Z"}
    lenient = ValidationClock(now=NOW, max_future_skew=timedelta(hours=1))
    assert validate_reading_json(orjson.dumps(future), lenient)
    assert validate(future, now=None)  # no receive time known: skew not judged


def test_kafka_value_round_trip_keeps_values_and_receive_time() -> None:
    reading = validate(VEHICLE)
    value = encode_kafka_value(reading, received_at_ms=1698400800123)
    decoded = decode_kafka_value(value, message_time_ms=1698400800123)
    assert decoded.receivedAt == 1698400800123
    assert decoded.model_dump(exclude={"receivedAt"}) == reading.model_dump()
    assert orjson.loads(value)["timestamp"] == "2023-10-27T10:00:00Z"


def test_kafka_value_is_judged_against_its_publish_time_not_now() -> None:
    old = encode_kafka_value(validate(METER), 0)
    # a backlog drained years later is fine: skew is measured from the message's own time
    assert decode_kafka_value(old, message_time_ms=int(NOW.timestamp() * 1000))
    with pytest.raises(ValidationError, match="in the future"):
        decode_kafka_value(old, message_time_ms=int((NOW - timedelta(hours=1)).timestamp() * 1000))


def test_kafka_value_with_an_offset_is_normalised_and_judged_in_utc() -> None:
    # 00:30 at +02:00 is 22:30 UTC the day before: that is the day whose partition gets it
    value = orjson.dumps({**METER, "timestamp": "2023-10-28T00:30:00+02:00", "receivedAt": 1})
    decoded = decode_kafka_value(value, message_time_ms=int((NOW + timedelta(hours=13)).timestamp() * 1000))
    assert decoded.timestamp == datetime(2023, 10, 27, 22, 30, tzinfo=UTC)
    assert decoded.timestamp.utcoffset() == timedelta(0)
    assert decoded.timestamp.date().isoformat() == "2023-10-27"
    with pytest.raises(ValidationError, match="in the future") as info:
        decode_kafka_value(value, message_time_ms=int(NOW.timestamp() * 1000))
    assert info.value.errors()[0]["loc"] == ("meter", "timestamp")
