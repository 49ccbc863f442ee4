"""The generated readings every mode stores, described by their fleet and regenerated on demand.

A :class:`Workload` holds no readings: only its fleet spec and what one counting pass
learned (how many readings, how many distinct, which days). Request bodies and the
limit's batches are regenerated from the spec, which is deterministic: a stream
(:meth:`Workload.stream`) holds at most one simulated minute of readings and one request
body at a time; :meth:`Workload.bodies` keeps the encoded bodies only (about 125 bytes a
reading), so the timed modes still pay nothing for generation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import chain, islice
from typing import Any

import orjson

from consumer.batch import Batch, MeterRow, VehicleRow
from simulator.fleet import FleetSpec, readings_by_minute

Reading = dict[str, Any]

# A reading may arrive this many distinct timestamps after the newest one seen (the fleet
# holds late ones back one minute); counting keeps identities that far back only.
DEDUP_WINDOW = 8


class WindowExceeded(ValueError):
    """A reading came later than the counting window allows, so it cannot be counted exactly."""


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _device(reading: Reading) -> tuple[str, str]:
    return reading["type"], reading.get("meterId") or reading["vehicleId"]


def readings(spec: FleetSpec) -> Iterator[Reading]:
    """The fleet's readings in sending order, one simulated minute in memory at a time."""
    return chain.from_iterable(readings_by_minute(spec))


def count(stream: Iterable[Reading], window: int = DEDUP_WINDOW) -> tuple[int, int, frozenset[date]]:
    """(readings, distinct readings, days) of ``stream``, holding ``window`` timestamps' identities.

    A reading is identified by (type, device, timestamp). Identities are grouped by
    timestamp and a group is dropped once ``window`` newer timestamps have been seen; a
    reading of a dropped (or older) timestamp raises :class:`WindowExceeded`.
    """
    total = 0
    seen: dict[datetime, set[tuple[str, str]]] = {}
    parsed: dict[str, datetime] = {}
    floor: datetime | None = None
    days: set[date] = set()
    distinct = 0
    for reading in stream:
        total += 1
        text = reading["timestamp"]
        ts = parsed.get(text)
        if ts is None:
            ts = parsed[text] = _timestamp(text)
            days.add(ts.date())
        if floor is not None and ts < floor:
            raise WindowExceeded(f"a reading of {text} came after {window} newer timestamps")
        group = seen.get(ts)
        if group is None:
            group = seen[ts] = set()
            if len(seen) > window:
                oldest = min(seen)
                del seen[oldest]
                floor = min(seen)
                parsed = {k: v for k, v in parsed.items() if v >= floor}
        identity = _device(reading)
        if identity not in group:
            group.add(identity)
            distinct += 1
    return total, distinct, frozenset(days)


def encode(stream: Iterable[Reading], batch_size: int) -> Iterator[tuple[int, bytes]]:
    """Request bodies of ``batch_size`` readings (a lone object when 1), lazily."""
    it = iter(stream)
    if batch_size == 1:
        for r in it:
            yield 1, orjson.dumps(r)
        return
    while chunk := list(islice(it, batch_size)):
        yield len(chunk), orjson.dumps(chunk)


@dataclass(frozen=True, slots=True)
class Workload:
    """A simulated fleet's readings in sending order (duplicates and late ones included)."""

    spec: FleetSpec
    readings: int
    unique: int
    days: frozenset[date]

    @classmethod
    def generate(cls, spec: FleetSpec) -> Workload:
        """Run the fleet simulator for ``spec`` once, counting (nothing is kept)."""
        total, unique, days = count(readings(spec))
        return cls(spec, total, unique, days)

    def __len__(self) -> int:
        return self.readings

    def stream(self, batch_size: int) -> Iterator[tuple[int, bytes]]:
        """The gateway request bodies, generated as they are taken (bounded memory)."""
        return encode(readings(self.spec), batch_size)

    def bodies(self, batch_size: int) -> list[tuple[int, bytes]]:
        """Every request body, encoded before any clock starts (the bytes only are kept)."""
        return list(self.stream(batch_size))

    def batches(self, size: int) -> list[Batch]:
        """The consumer's own batches of ``size`` readings, as if decoded from Kafka.

        Every row gets one synthetic receive time and consecutive offsets on partition 0;
        no Kafka offsets are attached, so the writer stores none.
        """
        received = datetime.now(UTC)
        out: list[Batch] = []
        it = readings(self.spec)
        start = 0
        while chunk := list(islice(it, size)):
            batch = Batch(generation=0)
            for offset, r in enumerate(chunk, start):
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
            start += len(chunk)
        return out
