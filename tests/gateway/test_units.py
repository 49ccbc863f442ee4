"""Pure logic of the gateway, without processes: buckets, budget, parser, settings, routing."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka.partitioner import DefaultPartitioner
from pydantic import ValidationError

from ingest_gateway.budget import InFlightBudget
from ingest_gateway.enqueue import PartitionRouter
from ingest_gateway.errors import InvalidReadings, MalformedBody, TooLarge, UnsupportedMediaType
from ingest_gateway.parse import ReadingsParser, media_type
from ingest_gateway.ratelimit import DeviceRateLimiter
from ingest_gateway.settings import GatewaySettings

SECRET = "x" * 32


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_refills_and_refuses_all_or_nothing() -> None:
    clock = FakeClock()
    limiter = DeviceRateLimiter(rate=2.0, burst=4, clock=clock)
    assert limiter.try_take(Counter({"a": 4})) == 0.0
    assert limiter.try_take(Counter({"a": 1})) == pytest.approx(0.5)
    assert limiter.try_take(Counter({"b": 2, "a": 1})) == pytest.approx(0.5)
    assert limiter.try_take(Counter({"b": 4})) == 0.0  # b was not charged by the refusal
    clock.now += 1.0
    assert limiter.try_take(Counter({"a": 2})) == 0.0
    assert limiter.try_take(Counter({"a": 1})) == pytest.approx(0.5)


def test_bucket_gives_back_tokens_of_a_failed_publish() -> None:
    clock = FakeClock()
    limiter = DeviceRateLimiter(rate=1.0, burst=3, clock=clock)
    assert limiter.try_take(Counter({"a": 3})) == 0.0
    limiter.give_back(Counter({"a": 3}))
    assert limiter.try_take(Counter({"a": 3})) == 0.0


def test_over_burst_names_the_device() -> None:
    limiter = DeviceRateLimiter(rate=1.0, burst=3)
    assert limiter.over_burst(Counter({"a": 3, "b": 1})) is None
    assert limiter.over_burst(Counter({"a": 1, "b": 4})) == ("b", 4)


def test_full_buckets_are_evicted_at_the_device_cap() -> None:
    clock = FakeClock()
    limiter = DeviceRateLimiter(rate=1.0, burst=4, clock=clock, max_devices=3)
    assert limiter.try_take(Counter({"a": 1, "b": 3, "c": 4})) == 0.0
    clock.now += 1  # a refilled (nothing to remember); b at 2 and c at 1 of 4 are not
    assert limiter.try_take(Counter({"d": 1})) == 0.0  # over the cap: evicts full buckets only
    # A full bucket behaves the same remembered or not, so which ones went shows only inside.
    assert set(limiter._buckets) == {"b", "c", "d"}
    assert limiter.try_take(Counter({"b": 3})) == pytest.approx(1.0)  # b's state survived
    assert limiter.try_take(Counter({"c": 2})) == pytest.approx(1.0)  # so did c's
    assert limiter.try_take(Counter({"d": 4})) == pytest.approx(1.0)  # and d's, stored after the eviction


def test_full_buckets_are_forgotten_as_the_table_doubles() -> None:
    clock = FakeClock()
    limiter = DeviceRateLimiter(rate=1.0, burst=4, clock=clock, sweep_floor=4)
    for i in range(4):  # up to the floor: nothing swept
        assert limiter.try_take(Counter({f"old{i}": 1})) == 0.0
    assert len(limiter._buckets) == 4
    limiter.try_take(Counter({"busy": 4}))  # the fifth device: a sweep, but nothing is full yet
    assert len(limiter._buckets) == 5
    clock.now += 1.0  # every old bucket refilled; busy's holds 1 of 4
    for i in range(5):  # the table may reach 10 (twice the 5 after the sweep) before the next
        limiter.try_take(Counter({f"new{i}": 1}))
    assert len(limiter._buckets) == 10
    clock.now += 1.0  # the new ones refilled too; busy holds 2 of 4
    limiter.try_take(Counter({"last": 1}))  # over 10: every full bucket goes
    assert set(limiter._buckets) == {"busy", "last"}
    assert limiter.try_take(Counter({"busy": 3})) == pytest.approx(1.0)  # its state survived


def test_a_fleet_of_one_time_devices_keeps_the_table_small() -> None:
    clock = FakeClock()
    limiter = DeviceRateLimiter(rate=10.0, burst=100, clock=clock, sweep_floor=1000)
    for i in range(100_000):  # each device posts once; 0.1 s later its bucket is full again
        limiter.try_take(Counter({f"d{i}": 1}))
        clock.now += 0.001
    assert len(limiter._buckets) <= 2000


async def test_budget_holds_until_futures_settle() -> None:
    budget = InFlightBudget(limit=10)
    loop = asyncio.get_running_loop()
    assert await budget.acquire(7) == 7
    futures = [loop.create_future() for _ in range(2)]
    done = budget.release_when_settled(futures, 7)
    waiter = asyncio.create_task(budget.acquire(5))
    await asyncio.sleep(0)
    assert not waiter.done()  # 7 + 5 > 10
    futures[0].set_result(None)
    await asyncio.sleep(0)
    assert not waiter.done()
    assert not done.done()
    futures[1].set_exception(RuntimeError("Kafka said no"))  # retrieved, never logged as unhandled
    assert await waiter == 5
    assert done.done()
    assert budget.used == 5


async def test_budget_caps_a_request_larger_than_the_bound() -> None:
    budget = InFlightBudget(limit=10)
    assert await budget.acquire(50) == 10
    budget.release(10)
    assert budget.used == 0


async def test_budget_waiter_cancelled_by_a_deadline_takes_nothing() -> None:
    budget = InFlightBudget(limit=2)
    await budget.acquire(2)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await budget.acquire(1)
    assert budget.used == 2


def test_router_matches_kafkas_default_partitioner() -> None:
    router = PartitionRouter(max_cached=3)
    reference = DefaultPartitioner()
    for i in range(200):
        key = f"device-{i}".encode()
        assert router.partition(key, 12) == reference(key, list(range(12)), list(range(12)))
        assert router.partition(key, 7) == reference(key, list(range(7)), list(range(7)))


NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
GOOD = b'{"type":"meter","meterId":"m-1","kwhConsumedAc":1,"voltage":230,"timestamp":"2026-01-01T11:59:00Z"}'


def test_parser_limits_and_errors() -> None:
    parser = ReadingsParser(max_records=2, max_future_skew=timedelta(minutes=5))
    assert len(parser.parse(b"[" + b",".join([GOOD] * 2) + b"]", "application/json", NOW)) == 2
    with pytest.raises(TooLarge) as many:
        parser.parse(b"[" + b",".join([GOOD] * 3) + b"]", "application/json", NOW)
    assert many.value.extra == {"limit": 2, "unit": "records"}
    with pytest.raises(TooLarge):
        parser.parse(b"\n".join([GOOD] * 3), "application/x-ndjson", NOW)
    with pytest.raises(MalformedBody):
        parser.parse(b"[" + GOOD, "application/json", NOW)
    late = GOOD.replace(b"11:59:00Z", b"12:06:00+00:00")
    with pytest.raises(InvalidReadings) as future:
        parser.parse(late, "application/json", NOW)
    assert future.value.extra["errors"][0]["field"] == "timestamp"
    within = GOOD.replace(b"11:59:00Z", b"13:04:00+01:00")  # 12:04 UTC: inside the skew
    assert parser.parse(within, "application/json", NOW)[0].timestamp == NOW + timedelta(minutes=4)


def test_parser_reports_future_timestamps_with_the_other_errors() -> None:
    """The clock rules run after pydantic; a rejected request still lists every problem."""
    parser = ReadingsParser(max_records=10, max_future_skew=timedelta(minutes=5))
    late = GOOD.replace(b"11:59:00Z", b"14:00:00+01:00")  # 13:00 UTC
    broken = GOOD.replace(b'"voltage":230', b'"voltage":-1')
    both = late.replace(b'"voltage":230', b'"voltage":-1')
    cases = {
        "application/json": [b"[" + b",".join([GOOD, late, broken, both]) + b"]"],
        "application/x-ndjson": [b"\n".join([GOOD, late, b"", broken, both])],
    }
    for kind, (body,) in cases.items():
        with pytest.raises(InvalidReadings) as info:
            parser.parse(body, kind, NOW)
        found = [(e["index"], e["field"]) for e in info.value.extra["errors"]]
        assert found == [(1, "timestamp"), (2, "voltage"), (3, "voltage"), (3, "timestamp")], kind
        future = info.value.extra["errors"][0]
        assert future["type"] == "value_error"
        assert future["message"].startswith("Value error, timestamp is more than 300 s in the future")
    with pytest.raises(InvalidReadings) as single:
        parser.parse(both, "application/json", NOW)
    assert [e["field"] for e in single.value.extra["errors"]] == ["voltage", "timestamp"]


def test_parser_normalises_every_offset_to_utc() -> None:
    parser = ReadingsParser(max_records=10, max_future_skew=timedelta(minutes=5))
    shifted = [
        GOOD.replace(b"11:59:00Z", t) for t in (b"13:59:00+02:00", b"11:59:00+00:00", b"06:29:00-05:30")
    ]
    for reading in parser.parse(b"[" + b",".join(shifted) + b"]", "application/json", NOW):
        assert reading.timestamp == datetime(2026, 1, 1, 11, 59, tzinfo=UTC)
        assert reading.timestamp.utcoffset() == timedelta(0)
        assert reading.__pydantic_serializer__.to_json(reading).endswith(b'"2026-01-01T11:59:00Z"}')


@pytest.mark.parametrize(
    ("header", "expected"),
    [("application/json", "application/json"), ("Application/JSON; charset=utf-8", "application/json"),
     ("application/x-ndjson", "application/x-ndjson"), ("application/jsonl", "application/jsonl")],
)  # fmt: skip
def test_media_types(header: str, expected: str) -> None:
    assert media_type(header) == expected


def test_unsupported_media_type() -> None:
    with pytest.raises(UnsupportedMediaType):
        media_type("multipart/form-data; boundary=x")


@pytest.mark.parametrize("name", ["snappy", "lz4", "zstd"])
def test_compression_codec_must_be_installed(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from aiokafka import codec

    assert GatewaySettings(auth_disabled=True, compression="gzip").compression == "gzip"
    monkeypatch.setattr(codec, f"has_{name}", lambda: True)
    assert GatewaySettings(auth_disabled=True, compression=name).compression == name
    monkeypatch.setattr(codec, f"has_{name}", lambda: False)
    with pytest.raises(ValidationError) as info:
        GatewaySettings(auth_disabled=True, compression=name)
    (error,) = info.value.errors()
    assert error["type"] == "value_error"
    assert error["msg"] == f"Value error, KAFKA_COMPRESSION={name} needs the cramjam package installed"


def test_auth_is_on_unless_disabled_explicitly() -> None:
    with pytest.raises(ValidationError, match="AUTH_SECRET is required"):
        GatewaySettings(auth_secret=None)
    with pytest.raises(ValidationError, match="at least 32"):
        GatewaySettings(auth_secret="short")
    assert GatewaySettings(auth_disabled=True).auth_disabled
    assert not GatewaySettings(auth_secret=SECRET).auth_disabled
