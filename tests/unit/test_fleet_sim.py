"""The simulated fleet is deterministic and physically plausible."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from simulator.fleet import FleetSpec, encode_batches, faulty_vehicles, readings_by_minute

END = datetime(2026, 1, 1, tzinfo=UTC)


def _all(spec: FleetSpec) -> list[dict[str, object]]:
    return [r for minute in readings_by_minute(spec) for r in minute]


def test_same_seed_same_readings_other_seed_other_readings() -> None:
    a = _all(FleetSpec(devices=20, minutes=30, seed=7, end=END))
    b = _all(FleetSpec(devices=20, minutes=30, seed=7, end=END))
    c = _all(FleetSpec(devices=20, minutes=30, seed=8, end=END))
    assert a == b
    assert a != c


def test_every_reading_is_sent_at_least_once_and_duplicates_are_rare() -> None:
    spec = FleetSpec(devices=50, minutes=60, seed=3, duplicate_share=0.02, late_share=0.02, end=END)
    readings = _all(spec)
    keys = [(r.get("meterId") or r.get("vehicleId"), r["timestamp"]) for r in readings]
    assert len(set(keys)) == 50 * 2 * 60
    dup_share = (len(keys) - len(set(keys))) / len(set(keys))
    assert 0.005 < dup_share < 0.04


def test_efficiency_of_healthy_and_faulty_vehicles() -> None:
    spec = FleetSpec(devices=40, minutes=600, seed=5, faulty_share=0.25, duplicate_share=0, end=END)
    ac: dict[str, float] = defaultdict(float)
    dc: dict[str, float] = defaultdict(float)
    for r in _all(spec):
        if r["type"] == "meter":
            ac["v" + str(r["meterId"])[1:]] += float(r["kwhConsumedAc"])  # type: ignore[arg-type]
        else:
            dc[str(r["vehicleId"])] += float(r["kwhDeliveredDc"])  # type: ignore[arg-type]
    faulty = set(faulty_vehicles(spec))
    assert len(faulty) == 10
    charged = [v for v in ac if ac[v] > 0]
    assert len(charged) > 30
    for v in charged:
        ratio = dc[v] / ac[v]
        if v in faulty:
            assert ratio < 0.85, (v, ratio)
        else:
            assert 0.88 <= ratio <= 0.95, (v, ratio)


def test_batches_cover_every_reading() -> None:
    spec = FleetSpec(devices=10, minutes=10, seed=1, end=END)
    total = sum(len(m) for m in readings_by_minute(spec))
    assert sum(n for n, _ in encode_batches(spec, 7)) == total
    singles = list(encode_batches(spec, 1))
    assert len(singles) == total
    assert singles[0][1].startswith(b"{")
