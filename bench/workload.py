"""The generated readings every mode stores, prepared before any clock starts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson

from consumer.batch import Batch, MeterRow, VehicleRow
from simulator.fleet import FleetSpec, readings_by_minute

Reading = dict[str, Any]


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _identity(reading: Reading) -> tuple[str, str, str]:
    return reading["type"], reading.get("meterId") or reading["vehicleId"], reading["timestamp"]


@dataclass(frozen=True, slots=True)
class Workload:
    """A simulated fleet's readings in sending order (duplicates and late ones included)."""

    spec: FleetSpec
    readings: list[Reading]
    unique: int
    days: frozenset[date]

    @classmethod
    def generate(cls, spec: FleetSpec) -> Workload:
        """Run the fleet simulator for ``spec``."""
        readings = [r for minute in readings_by_minute(spec) for r in minute]
        unique = len({_identity(r) for r in readings})
        days = frozenset(_timestamp(r["timestamp"]).date() for r in readings)
        return cls(spec, readings, unique, days)

    def __len__(self) -> int:
        return len(self.readings)

    def bodies(self, batch_size: int) -> list[tuple[int, bytes]]:
        """Gateway request bodies of ``batch_size`` readings (a lone object when 1)."""
        if batch_size == 1:
            return [(1, orjson.dumps(r)) for r in self.readings]
        return [
            (len(chunk), orjson.dumps(chunk))
            for chunk in (self.readings[i : i + batch_size] for i in range(0, len(self.readings), batch_size))
        ]

    def batches(self, size: int) -> list[Batch]:
        """The consumer's own batches of ``size`` readings, as if decoded from Kafka.

        Every row gets one synthetic receive time and consecutive offsets on partition 0;
        no Kafka offsets are attached, so the writer stores none.
        """
        received = datetime.now(UTC)
        out: list[Batch] = []
        for start in range(0, len(self.readings), size):
            batch = Batch(generation=0)
            for offset, r in enumerate(self.readings[start : start + size], start):
                ts = _timestamp(r["timestamp"])
                batch.days.add(ts.date())
                if r["type"] == "meter":
                    meter: MeterRow = (
                        r["meterId"],
                        ts,
                        r["kwhConsumedAc"],
                        r["voltage"],
                        received,
                        0,
                        offset,
                    )
                    batch.meters.append(meter)
                else:
                    vehicle: VehicleRow = (
                        r["vehicleId"],
                        ts,
                        r["soc"],
                        r["kwhDeliveredDc"],
                        r["batteryTemp"],
                        received,
                        0,
                        offset,
                    )
                    batch.vehicles.append(vehicle)
            out.append(batch)
        return out
