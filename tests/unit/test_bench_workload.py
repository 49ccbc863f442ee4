"""The bench's workload: streamed bodies equal the eager ones, in bounded memory.

Expected values come from the fleet simulator's readings held in a plain list and
encoded the way the bench used to (every reading in memory at once).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from bench.workload import WindowExceeded, Workload, count
from simulator.fleet import FleetSpec, readings_by_minute

END = datetime(2026, 3, 1, 0, 5, tzinfo=UTC)  # the fleet crosses midnight: two days


def _spec(minutes: int, devices: int = 30) -> FleetSpec:
    return FleetSpec(devices=devices, minutes=minutes, seed=7, duplicate_share=0.1, late_share=0.1, end=END)


def _eager(spec: FleetSpec) -> list[dict[str, Any]]:
    return [r for minute in readings_by_minute(spec) for r in minute]


def _eager_bodies(readings: list[dict[str, Any]], size: int) -> list[tuple[int, bytes]]:
    if size == 1:
        return [(1, orjson.dumps(r)) for r in readings]
    chunks = [readings[i : i + size] for i in range(0, len(readings), size)]
    return [(len(c), orjson.dumps(c)) for c in chunks]


def test_counts_are_exact_and_bodies_equal_the_eager_ones() -> None:
    spec = _spec(12)
    readings = _eager(spec)
    identities = {(r["type"], r.get("meterId") or r.get("vehicleId"), r["timestamp"]) for r in readings}
    workload = Workload.generate(spec)
    assert len(workload) == len(readings)
    assert workload.unique == len(identities) < len(readings)  # duplicates were sent
    assert workload.days == {datetime.fromisoformat(r["timestamp"]).date() for r in readings}
    assert len(workload.days) == 2
    # 1: lone objects; 7: a short last chunk (len(readings) % 7 != 0 is checked); 10,000: one body.
    assert len(readings) % 7 != 0
    for size in (1, 7, 10_000):
        assert list(workload.stream(size)) == _eager_bodies(readings, size)
        assert workload.bodies(size) == _eager_bodies(readings, size)


def test_limit_batches_hold_every_reading_in_order() -> None:
    spec = _spec(5)
    readings = _eager(spec)
    batches = Workload.generate(spec).batches(64)
    assert [b.readings for b in batches[:-1]] == [64] * (len(batches) - 1)
    rows = sorted((row[-1], row[0], row[1]) for b in batches for row in (*b.meters, *b.vehicles))
    expected = [
        (i, r.get("meterId") or r["vehicleId"], datetime.fromisoformat(r["timestamp"]))
        for i, r in enumerate(readings)
    ]
    assert rows == expected


def _peak(run: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _drain(spec: FleetSpec) -> Callable[[], object]:
    def run() -> int:
        workload = Workload.generate(spec)
        return sum(len(body) for _, body in workload.stream(500))

    return run


def test_generating_and_streaming_hold_a_bound_not_the_fleet() -> None:
    short, long = _spec(20, devices=50), _spec(400, devices=50)
    eager = _peak(lambda: _eager(long))
    peak_short, peak_long = _peak(_drain(short)), _peak(_drain(long))
    # Twenty times the readings, about the same memory: one minute and one body at a time.
    assert peak_long < 1.5 * peak_short
    assert peak_long < eager / 10


def test_a_reading_later_than_the_window_is_refused_not_miscounted() -> None:
    def reading(minute: int, device: str = "m-1") -> dict[str, Any]:
        return {"type": "meter", "meterId": device, "timestamp": f"2026-03-01T00:{minute:02d}:00Z"}

    stream = [reading(0), reading(1), reading(0), reading(1, "m-2"), reading(2), reading(2)]
    assert count(stream, window=3) == (6, 4, frozenset({END.date()}))
    with pytest.raises(WindowExceeded):
        count([reading(0), reading(1), reading(2), reading(3), reading(0)], window=3)
