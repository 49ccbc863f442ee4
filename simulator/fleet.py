"""A realistic, deterministic fleet: charging sessions, idle time, faulty chargers.

Meter ``m-sim-00042`` feeds vehicle ``v-sim-00042``. Each minute a vehicle is either
charging (AC drawn through its meter, DC delivered to its battery at 0.88-0.95 of AC, or
below 0.85 on a faulty charger; SoC rises) or idle (zero energy, the battery cools). A
share of readings is sent twice (device retries) or late (held back and sent later).
The same seed gives the same readings.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class FleetSpec:
    """Shape of the simulated fleet."""

    devices: int = 100
    minutes: int = 60
    seed: int = 1
    faulty_share: float = 0.1
    duplicate_share: float = 0.01
    late_share: float = 0.01
    prefix: str = "sim"
    end: datetime = field(default_factory=lambda: datetime.now(UTC).replace(second=0, microsecond=0))

    def meter_id(self, i: int) -> str:
        return f"m-{self.prefix}-{i:05d}"

    def vehicle_id(self, i: int) -> str:
        return f"v-{self.prefix}-{i:05d}"


@dataclass(slots=True)
class _Vehicle:
    efficiency: float
    power_kw: float
    capacity_kwh: float
    soc: float
    temp: float
    charging_left: int = 0
    idle_left: int = 0


def _new_vehicle(rng: random.Random, faulty: bool) -> _Vehicle:
    return _Vehicle(
        efficiency=rng.uniform(0.70, 0.84) if faulty else rng.uniform(0.88, 0.95),
        power_kw=rng.choice((7.4, 11.0, 22.0)),
        capacity_kwh=rng.choice((60.0, 75.0, 100.0)),
        soc=rng.uniform(10, 90),
        temp=rng.uniform(15, 30),
        idle_left=rng.randint(0, 120),
    )


def _step(v: _Vehicle, rng: random.Random) -> tuple[float, float]:
    """Advance one minute; returns (AC kWh, DC kWh)."""
    if v.charging_left == 0 and v.idle_left == 0:
        if rng.random() < 0.5 and v.soc < 95:
            v.charging_left = rng.randint(20, 240)
        else:
            v.idle_left = rng.randint(10, 180)
    if v.charging_left > 0 and v.soc < 100:
        v.charging_left -= 1
        ac = round(v.power_kw / 60 * rng.uniform(0.97, 1.0), 6)
        dc = round(ac * v.efficiency, 6)
        v.soc = min(100.0, v.soc + dc / v.capacity_kwh * 100)
        v.temp = min(45.0, v.temp + rng.uniform(0.0, 0.08))
        return ac, dc
    v.charging_left = 0
    v.idle_left = max(0, v.idle_left - 1)
    v.temp = max(15.0, v.temp - rng.uniform(0.0, 0.05))
    return 0.0, 0.0


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def readings_by_minute(spec: FleetSpec) -> Iterator[list[dict[str, Any]]]:
    """For each simulated minute, the readings devices send then (late ones later)."""
    rng = random.Random(spec.seed)  # noqa: S311 - simulation, not security
    faulty = set(rng.sample(range(spec.devices), int(spec.devices * spec.faulty_share)))
    fleet = [_new_vehicle(rng, i in faulty) for i in range(spec.devices)]
    start = spec.end - timedelta(minutes=spec.minutes)
    held: list[dict[str, Any]] = []
    for minute in range(spec.minutes):
        ts = _iso(start + timedelta(minutes=minute))
        out, held = held, []
        for i, v in enumerate(fleet):
            ac, dc = _step(v, rng)
            meter = {
                "type": "meter",
                "meterId": spec.meter_id(i),
                "kwhConsumedAc": ac,
                "voltage": round(rng.gauss(230, 3), 1),
                "timestamp": ts,
            }
            vehicle = {
                "type": "vehicle",
                "vehicleId": spec.vehicle_id(i),
                "soc": round(v.soc, 3),
                "kwhDeliveredDc": dc,
                "batteryTemp": round(v.temp, 2),
                "timestamp": ts,
            }
            for reading in (meter, vehicle):
                roll = rng.random()
                if roll < spec.late_share and minute + 1 < spec.minutes:
                    held.append(reading)
                    continue
                out.append(reading)
                if roll > 1 - spec.duplicate_share:
                    out.append(reading)
        yield out + (held if minute + 1 == spec.minutes else [])


def faulty_vehicles(spec: FleetSpec) -> list[str]:
    """Ids of the vehicles with a charger below 0.85 (for checking the ranking)."""
    rng = random.Random(spec.seed)  # noqa: S311
    return sorted(
        spec.vehicle_id(i) for i in rng.sample(range(spec.devices), int(spec.devices * spec.faulty_share))
    )


def encode_batches(spec: FleetSpec, batch_size: int) -> Iterator[tuple[int, bytes]]:
    """Request bodies of up to ``batch_size`` readings (a lone object when 1)."""
    pending: list[dict[str, Any]] = []
    for minute in readings_by_minute(spec):
        pending.extend(minute)
        while len(pending) >= batch_size:
            chunk, pending = pending[:batch_size], pending[batch_size:]
            yield len(chunk), orjson.dumps(chunk[0] if batch_size == 1 else chunk)
    if pending:
        yield len(pending), orjson.dumps(pending[0] if len(pending) == 1 else pending)
