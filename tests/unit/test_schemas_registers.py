"""A meter reading carries exactly one of kwhConsumedAc and kwhRegisterAc; voltage is optional."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from ingest_gateway.errors import InvalidReadings
from ingest_gateway.parse import ReadingsParser
from schemas import (
    MeterReading,
    ValidationClock,
    decode_kafka_value,
    encode_kafka_value,
    validate_reading_json,
)

NOW = datetime(2023, 10, 27, 10, 2, tzinfo=UTC)
BASE: dict[str, Any] = {"type": "meter", "meterId": "cp-7:1", "timestamp": "2023-10-27T10:00:00Z"}


def meter(body: dict[str, Any]) -> MeterReading:
    reading = validate_reading_json(orjson.dumps(body), ValidationClock(now=NOW))
    assert isinstance(reading, MeterReading)
    return reading


def errors_of(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    with pytest.raises(ValidationError) as info:
        meter(body)
    return [(".".join(str(p) for p in e["loc"][1:]), e["type"], e["msg"]) for e in info.value.errors()]


def test_register_reading_without_voltage_is_accepted() -> None:
    reading = meter({**BASE, "kwhRegisterAc": 18234.125})
    assert (reading.kwhRegisterAc, reading.kwhConsumedAc, reading.voltage) == (18234.125, None, None)
    assert meter({**BASE, "kwhRegisterAc": 0}).kwhRegisterAc == 0.0
    assert meter({**BASE, "kwhRegisterAc": 1e9}).kwhRegisterAc == 1e9


def test_interval_reading_without_voltage_or_with_null_voltage_is_accepted() -> None:
    assert meter({**BASE, "kwhConsumedAc": 1.5}).voltage is None
    assert meter({**BASE, "kwhConsumedAc": 1.5, "voltage": None}).voltage is None
    assert meter({**BASE, "kwhConsumedAc": 1.5, "voltage": 231}).voltage == 231.0


@pytest.mark.parametrize(
    ("change", "field", "kind", "message"),
    [
        ({}, "kwhConsumedAc", "meter_energy_missing", "needs kwhConsumedAc"),
        ({"kwhConsumedAc": None, "kwhRegisterAc": None}, "kwhConsumedAc", "meter_energy_missing", "or kwh"),
        ({"kwhConsumedAc": 1, "kwhRegisterAc": 2}, "kwhConsumedAc", "meter_energy_exclusive", "exclude each"),
        ({"kwhRegisterAc": -0.001}, "kwhRegisterAc", "greater_than_equal", "greater than or equal to 0"),
        ({"kwhRegisterAc": 1e9 + 1}, "kwhRegisterAc", "less_than_equal", "less than or equal to 1000000000"),
        ({"kwhRegisterAc": "12"}, "kwhRegisterAc", "float_type", "valid number"),
        ({"kwhRegisterAc": True}, "kwhRegisterAc", "float_type", "valid number"),
        ({"kwhRegisterAc": 5, "voltage": 1001}, "voltage", "less_than_equal", "less than or equal to 1000"),
    ],
)  # fmt: skip
def test_exactly_one_energy_rule(change: dict[str, Any], field: str, kind: str, message: str) -> None:
    errs = errors_of({**BASE, **change})
    assert len(errs) == 1, errs
    assert errs[0][:2] == (field, kind), errs
    assert message in errs[0][2], errs


def test_an_invalid_register_is_the_error_reported_not_a_missing_energy() -> None:
    # kwhRegisterAc failed its own bound: no second, misleading "needs one of" error
    errs = errors_of({**BASE, "kwhRegisterAc": -1})
    assert [(f, k) for f, k, _ in errs] == [("kwhRegisterAc", "greater_than_equal")]


def test_non_finite_register_is_rejected() -> None:
    raw = b'{"type":"meter","meterId":"m","kwhRegisterAc":NaN,"timestamp":"2023-10-27T10:00:00Z"}'
    with pytest.raises(ValidationError, match="finite number"):
        validate_reading_json(raw, ValidationClock(now=NOW))


def test_kafka_value_carries_the_register_and_leaves_out_absent_fields() -> None:
    reading = meter({**BASE, "kwhRegisterAc": 18234.125})
    value = encode_kafka_value(reading, received_at_ms=7)
    assert orjson.loads(value) == {**BASE, "kwhRegisterAc": 18234.125, "receivedAt": 7}
    decoded = decode_kafka_value(value, message_time_ms=int(NOW.timestamp() * 1000))
    assert decoded.model_dump(exclude={"receivedAt"}) == reading.model_dump()
    assert decoded.receivedAt == 7


def test_interval_kafka_value_is_unchanged_by_registers() -> None:
    body = {**BASE, "kwhConsumedAc": 1.5, "voltage": 240.0}
    value = encode_kafka_value(meter(body), received_at_ms=7)
    # the same bytes as before registers existed: type, meterId, kwhConsumedAc, voltage, timestamp
    assert value == (
        b'{"type":"meter","meterId":"cp-7:1","kwhConsumedAc":1.5,"voltage":240.0,'
        b'"timestamp":"2023-10-27T10:00:00Z","receivedAt":7}'
    )


def test_gateway_422_names_index_field_and_rule() -> None:
    parser = ReadingsParser(max_records=10, max_future_skew=timedelta(minutes=5))
    good = {**BASE, "kwhRegisterAc": 10.0}
    both = {**BASE, "kwhRegisterAc": 10.0, "kwhConsumedAc": 1.0}
    body = orjson.dumps([good, both, BASE, {**BASE, "kwhConsumedAc": 1.0}])
    for kind, raw in (
        ("application/json", body),
        ("application/x-ndjson", b"\n".join(orjson.dumps(r) for r in orjson.loads(body))),
    ):
        with pytest.raises(InvalidReadings) as info:
            parser.parse(raw, kind, NOW)
        found = [(e["index"], e["field"], e["type"]) for e in info.value.extra["errors"]]
        assert found == [
            (1, "kwhConsumedAc", "meter_energy_exclusive"),
            (2, "kwhConsumedAc", "meter_energy_missing"),
        ]
    assert len(parser.parse(orjson.dumps([good, good]), "application/json", NOW)) == 2
