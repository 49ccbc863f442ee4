"""The time rules: one settings object for both services, the same judgement on every path."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from consumer.batch import Batch, Reject
from consumer.decode import add_records
from consumer.reject_guard import RejectGuard
from consumer.settings import ConsumerSettings
from ingest_gateway.errors import InvalidReadings
from ingest_gateway.parse import ReadingsParser
from ingest_gateway.settings import GatewaySettings
from schemas import KafkaDecoder, TimeRules, ValidationClock, encode_kafka_value, validate_reading_json
from schemas.clock import apply_clock, rule_of, violation
from schemas.topics import METER_TOPIC

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
ENV = {
    "MAX_FUTURE_SKEW_S": "60",
    "TIMESTAMP_FLOOR": "2010-01-01T00:00:00+01:00",
    "MAX_PAST_AGE_S": "86400",
    "RETENTION_DAYS": "30",
}


def meter(ts: str, device: str = "m-1") -> bytes:
    return orjson.dumps(
        {"type": "meter", "meterId": device, "kwhConsumedAc": 1.0, "voltage": 230.0, "timestamp": ts}
    )


def at(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def test_both_services_read_the_same_rules_from_the_same_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    gateway = GatewaySettings(auth_disabled=True)
    consumer = ConsumerSettings(database_url="postgresql://unused")
    expected = {
        "max_future_skew_s": 60.0,
        "timestamp_floor": datetime(2009, 12, 31, 23, 0, tzinfo=UTC),
        "max_past_age_s": 86400.0,
        "retention_days": 30,
    }
    for settings in (gateway, consumer, TimeRules()):
        assert {name: getattr(settings, name) for name in TimeRules.model_fields} == expected
    assert gateway.clock(NOW) == consumer.clock(NOW)


def test_defaults_and_sanity_checks() -> None:
    rules = TimeRules.defaults()
    assert (rules.max_future_skew_s, rules.max_past_age, rules.retention_days) == (300.0, None, 0)
    assert rules.timestamp_floor == datetime(2000, 1, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="must be in the past"):
        TimeRules.defaults(timestamp_floor=datetime.now(UTC) + timedelta(days=1))
    with pytest.raises(ValidationError, match="timezone"):
        TimeRules.model_validate({"TIMESTAMP_FLOOR": "2000-01-01T00:00:00"})


@pytest.mark.parametrize(
    ("ts", "rule", "words"),
    [
        (datetime(1990, 1, 1, tzinfo=UTC), "floor", "before the floor 2000-01-01T00:00:00Z (rule TIMESTAMP_"),
        (datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC), "floor", "rule TIMESTAMP_FLOOR"),
        (NOW + timedelta(seconds=301), "future", "300 s in the future"),
        (NOW - timedelta(days=31), "retention", "retention horizon 2026-05-16 (rule RETENTION_DAYS=30)"),
        (NOW - timedelta(days=2), "max_past_age", "86400 s in the past"),
    ],
)  # fmt: skip
def test_each_rule_is_named(ts: datetime, rule: str, words: str) -> None:
    clock = TimeRules.defaults(max_past_age_s=86400, retention_days=30).clock(NOW)
    problem = violation(ts, clock)
    assert problem is not None
    assert problem.rule == rule
    assert words in str(problem)


def test_the_floor_and_the_seed_examples_with_defaults() -> None:
    clock = TimeRules.defaults().clock(NOW)
    seed = meter("2023-10-27T10:00:00Z")
    assert validate_reading_json(seed, clock).timestamp == datetime(2023, 10, 27, 10, tzinfo=UTC)
    floor_exactly = validate_reading_json(meter("2000-01-01T00:00:00Z"), clock)
    assert floor_exactly.timestamp == datetime(2000, 1, 1, tzinfo=UTC)
    with pytest.raises(ValidationError) as info:
        validate_reading_json(meter("1990-01-01T00:00:00Z"), clock)
    assert rule_of(info.value) == "floor"
    assert info.value.errors()[0]["loc"] == ("meter", "timestamp")
    # The floor is static: it holds even when the receive time is unknown.
    with pytest.raises(ValidationError, match="TIMESTAMP_FLOOR"):
        validate_reading_json(meter("1970-01-01T00:00:00+01:00"), ValidationClock(now=None))


def test_the_loop_flags_early_and_late_readings_alike() -> None:
    clock = TimeRules.defaults(retention_days=30).clock(NOW)
    times = [
        "2026-06-15T11:00:00Z",
        "1990-01-01T00:00:00Z",
        "2026-06-15T13:00:00+02:00",
        "2026-05-15T23:59:59Z",
    ]
    anything = ValidationClock(now=None, floor=datetime.min.replace(tzinfo=UTC))
    readings = [validate_reading_json(meter(t), anything) for t in times]
    bad = apply_clock(readings, clock)
    assert bad == [1, 3]
    assert [violation(readings[i].timestamp, clock).rule for i in bad] == ["floor", "retention"]  # type: ignore[union-attr]


def test_the_gateway_parser_answers_422_naming_the_field_and_the_rule() -> None:
    parser = ReadingsParser(10, rules=TimeRules.defaults(retention_days=30))
    body = b"[" + b",".join([meter("2026-06-15T11:59:00Z"), meter("1990-01-01T00:00:00Z"),
                             meter("2026-04-01T00:00:00Z")]) + b"]"  # fmt: skip
    for kind, payload in (
        ("application/json", body),
        ("application/x-ndjson", body[1:-1].replace(b"},{", b"}\n{")),
    ):
        with pytest.raises(InvalidReadings) as info:
            parser.parse(payload, kind, NOW)
        errors = info.value.extra["errors"]
        assert [(e["index"], e["field"], e["type"]) for e in errors] == [
            (1, "timestamp", "value_error"),
            (2, "timestamp", "value_error"),
        ], kind
        assert "rule TIMESTAMP_FLOOR" in errors[0]["message"]
        assert "rule RETENTION_DAYS=30" in errors[1]["message"]
    # With another reading broken too, the time rules are still listed.
    broken = meter("2026-06-15T11:59:00Z").replace(b'"voltage":230.0', b'"voltage":-1')
    with pytest.raises(InvalidReadings) as mixed:
        parser.parse(b"[" + broken + b"," + meter("1990-01-01T00:00:00Z") + b"]", "application/json", NOW)
    assert [(e["index"], e["field"]) for e in mixed.value.extra["errors"]] == [
        (0, "voltage"),
        (1, "timestamp"),
    ]


def test_the_consumer_follows_the_skew_setting_against_the_publish_time() -> None:
    ahead = encode_kafka_value(validate_reading_json(meter(at(NOW + timedelta(minutes=30))),
                                                     ValidationClock(now=None)), NOW_MS)  # fmt: skip
    assert KafkaDecoder(TimeRules.defaults(max_future_skew_s=3600))(ahead, NOW_MS)
    with pytest.raises(ValidationError) as info:
        KafkaDecoder(TimeRules.defaults())(ahead, NOW_MS)
    assert rule_of(info.value) == "future"


def record(offset: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(METER_TOPIC, 0, offset, NOW_MS, 0, b"k", value, None, 1, len(value), [])


def test_consumer_rejects_carry_the_rule_as_reason() -> None:
    decode = KafkaDecoder(TimeRules.defaults(max_past_age_s=86400 * 60))
    b = Batch(generation=0)
    values = [
        meter(at(NOW - timedelta(minutes=1))),
        meter("1990-01-01T00:00:00Z"),
        meter(at(NOW + timedelta(hours=1))),
        meter(at(NOW - timedelta(days=61))),
        meter(at(NOW - timedelta(days=40))),
    ]
    add_records(b, [record(i, v) for i, v in enumerate(values)], date(2026, 5, 16), decode)
    assert [m[-1] for m in b.meters] == [0]
    assert [(r.offset, r.reason) for r in b.rejects] == [
        (1, "timestamp_floor"),
        (2, "timestamp_future"),
        (3, "timestamp_max_past_age"),
        (4, "expired"),
    ]
    assert "rule TIMESTAMP_FLOOR" in b.rejects[0].detail
    assert "RETENTION_DAYS" in b.rejects[3].detail
    # With retention in the rules too, the horizon is named before the max past age.
    both = KafkaDecoder(TimeRules.defaults(max_past_age_s=86400 * 10, retention_days=30))
    again = Batch(generation=0)
    add_records(again, [record(4, values[4]), record(5, meter(at(NOW - timedelta(days=20))))], None, both)
    assert [(r.offset, r.reason) for r in again.rejects] == [(4, "expired"), (5, "timestamp_max_past_age")]


def test_time_rule_rejects_never_trip_the_flood_guard() -> None:
    guard = RejectGuard(window=100, max_ratio=0.5, min_messages=10)
    for reason in ("expired", "timestamp_floor", "timestamp_future", "timestamp_max_past_age"):
        b = Batch(generation=0)
        b.rejects = [Reject(METER_TOPIC, 0, i, None, b"x", reason, "old") for i in range(500)]
        guard.check(b)
        guard.commit(b)
    flood = Batch(generation=0)
    flood.rejects = [Reject(METER_TOPIC, 0, i, None, b"x", "invalid", "bad") for i in range(20)]
    with pytest.raises(Exception, match="20 of the last 20"):
        guard.check(flood)
