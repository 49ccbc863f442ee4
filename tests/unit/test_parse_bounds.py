"""The gateway's parser does bounded work per body and shares the event loop while judging one."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

import pytest

from ingest_gateway.errors import InvalidReadings, TooLarge
from ingest_gateway.parse import MAX_LISTED_ERRORS, ReadingsParser

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
BAD = json.dumps(
    {"type": "meter", "meterId": "x" * 80, "kwhConsumedAc": -1, "voltage": "high", "timestamp": "yesterday"}
).encode()
GOOD = json.dumps(
    {
        "type": "meter",
        "meterId": "m-1",
        "kwhConsumedAc": 1.5,
        "voltage": 240,
        "timestamp": "2026-03-10T11:00:00Z",
    }
).encode()


def _array(*items: bytes) -> bytes:
    return b"[" + b",".join(items) + b"]"


async def test_judging_a_large_invalid_body_yields_to_the_event_loop() -> None:
    parser = ReadingsParser(10_000)
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    ticks = 0
    with pytest.raises(InvalidReadings) as raised:
        await parser.parse_async(_array(*[BAD] * 10_000), "application/json", NOW)
    done.set()
    await task
    assert ticks >= 30, f"the loop ran {ticks} times while 10,000 readings were judged"
    body = raised.value.body()
    assert body["errorCount"] == 40_000
    assert len(body["errors"]) == MAX_LISTED_ERRORS


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (_array(*[b"{}"] * 2_000_000), "2000000 readings (JSON objects)"),
        (_array(*[b"1"] * 2_000_000), "more values than 10000 readings hold"),
    ],
)
def test_bodies_with_more_values_than_readings_hold_are_413_before_parsing(
    body: bytes, fragment: str
) -> None:
    parser = ReadingsParser(10_000)
    started = time.process_time()
    with pytest.raises(TooLarge) as raised:
        parser.parse(body, "application/json", NOW)
    assert time.process_time() - started < 0.05  # counted, not parsed (a parse takes ~0.1 s)
    assert fragment in raised.value.message


def test_an_object_of_many_keys_is_one_error() -> None:
    many = b'{"type":"meter",' + b",".join(b'"k%d":1' % i for i in range(50_000)) + b"}"
    with pytest.raises(InvalidReadings) as raised:
        ReadingsParser(10_000).parse(_array(GOOD, many), "application/json", NOW)
    body = raised.value.body()
    assert body["errorCount"] == 1
    assert body["errors"] == [
        {
            "index": 1,
            "field": "$",
            "message": "an object of about 50001 fields: a reading has at most 6",
            "type": "too_many_fields",
        }
    ]


def test_echoed_inputs_are_cut() -> None:
    with pytest.raises(InvalidReadings) as raised:
        ReadingsParser(10).parse(
            b'{"type":"' + b"t" * 100_000 + b'","' + b"k" * 100_000 + b'":1}', "application/json", NOW
        )
    errors = raised.value.body()["errors"]
    assert errors
    assert all(len(e["field"]) <= 64 and len(e["message"]) <= 200 for e in errors), errors


def test_the_valid_readings_still_pass() -> None:
    readings = ReadingsParser(10_000).parse(_array(*[GOOD] * 10_000), "application/json", NOW)
    assert len(readings) == 10_000
