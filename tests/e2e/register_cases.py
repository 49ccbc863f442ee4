"""Register exactness cases and their reference, computed in plain Python from the sorted series.

A case is a few meters' register series (reading time -> lifetime kWh, some with a reset)
and the order they are sent in: phases of requests, each phase stored before the next is
sent (so a later phase's readings arrive after the rollups of the earlier one). The
newest reading of every meter is always the case's last request: once it is stored, every
earlier record of that meter (same key, same partition) has been processed.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

Series = dict[datetime, Decimal]
Reading = tuple[str, datetime, Decimal, float | None]  # meter, ts, register, voltage


def attributed(series: Series) -> dict[datetime, Decimal]:
    """Energy of each reading: the increase over the previous one by time; a drop is a reset."""
    out: dict[datetime, Decimal] = {}
    prev: Decimal | None = None
    for ts in sorted(series):
        reg = series[ts]
        out[ts] = Decimal(0) if prev is None else (reg - prev if reg >= prev else reg)
        prev = reg
    return out


def window_sum(energies: Iterable[dict[datetime, Decimal]], lo: datetime, hi: datetime) -> Decimal:
    return sum((e for per in energies for ts, e in per.items() if lo <= ts < hi), Decimal(0))


def buckets(per: dict[datetime, Decimal], unit: str) -> dict[datetime, Decimal]:
    out: dict[datetime, Decimal] = defaultdict(Decimal)
    for ts, e in per.items():
        key = ts.replace(minute=0, second=0, microsecond=0)
        out[key.replace(hour=0) if unit == "day" else key] += e
    return dict(out)


def running(per: dict[datetime, Decimal]) -> dict[datetime, tuple[Decimal, int]]:
    """Each hour with readings: the energy and the number of readings up to its end."""
    energy = buckets(per, "hour")
    counts: dict[datetime, int] = defaultdict(int)
    for ts in per:
        counts[ts.replace(minute=0, second=0, microsecond=0)] += 1
    out: dict[datetime, tuple[Decimal, int]] = {}
    kwh, n = Decimal(0), 0
    for hour in sorted(energy):
        kwh, n = kwh + energy[hour], n + counts[hour]
        out[hour] = (kwh, n)
    return out


@dataclass
class Case:
    name: str
    series: dict[str, Series]
    voltage: dict[tuple[str, datetime], float | None]
    phases: list[list[list[Reading]]] = field(default_factory=list)

    def reading(self, meter: str, ts: datetime) -> Reading:
        return (meter, ts, self.series[meter][ts], self.voltage[(meter, ts)])

    def all_readings(self) -> list[Reading]:
        return [self.reading(m, ts) for m, s in self.series.items() for ts in sorted(s)]

    def newest(self) -> list[Reading]:
        return [self.reading(m, max(s)) for m, s in self.series.items()]

    @property
    def sent(self) -> int:
        return sum(len(r) for phase in self.phases for r in phase)

    @property
    def requests(self) -> int:
        return sum(len(phase) for phase in self.phases)

    def distinct_after(self, phase: int) -> int:
        return len({(r[0], r[1]) for p in self.phases[: phase + 1] for req in p for r in req})


def make_series(rng: random.Random, start: datetime, n: int, resets: int = 0) -> Series:
    """``n`` readings 2..47 minutes apart (crossing hours and a UTC midnight), rising registers."""
    ts, reg = start, Decimal(rng.randint(0, 80_000)) / 8
    reset_at = set(rng.sample(range(3, n - 2), resets))
    out: Series = {}
    for i in range(n):
        ts += timedelta(minutes=rng.randint(2, 47), seconds=rng.choice([0, 0, 17]))
        if i in reset_at:
            reg = Decimal(rng.randint(0, 40)) / 8  # restarted from (near) zero
        elif i:
            reg += Decimal(rng.randint(0, 2_000)) / 8
        out[ts] = reg
    return out


def chunks(rng: random.Random, readings: list[Reading], most: int = 9) -> list[list[Reading]]:
    out, i = [], 0
    while i < len(readings):
        n = rng.randint(1, most)
        out.append(readings[i : i + n])
        i += n
    return out


def shuffled(rng: random.Random, readings: list[Reading]) -> list[Reading]:
    copy = list(readings)
    rng.shuffle(copy)
    return copy


def build(name: str, meters: list[str], start: datetime, seed: int, resets: int = 0) -> Case:
    rng = random.Random(seed)
    series = {m: make_series(rng, start + timedelta(minutes=rng.randint(0, 20)), 24, resets) for m in meters}
    voltage = {
        (m, ts): (None if rng.random() < 0.3 else float(rng.randint(4500, 4700)) / 20)
        for m, s in series.items()
        for ts in s
    }
    return Case(name, series, voltage)


def _body_of(case: Case) -> list[Reading]:
    newest = set(case.newest())
    return [r for r in case.all_readings() if r not in newest]


def plan(case: Case, rng: random.Random, kind: str) -> Case:
    """Fill ``case.phases`` for the arrival pattern ``kind``."""
    body, last = _body_of(case), [case.newest()]
    builders: dict[str, Callable[[], list[list[list[Reading]]]]] = {
        "in order": lambda: [[*chunks(rng, body), *last]],
        "shuffled": lambda: [[*chunks(rng, shuffled(rng, body)), *last]],
        "duplicated": lambda: [[*chunks(rng, shuffled(rng, body + rng.sample(body, 12) + body[:3])), *last]],
        "late after rollup": lambda: _late(rng, body, last, share=0.35),
        "reset mid-series": lambda: [[*chunks(rng, shuffled(rng, body)), *last]],
        "reset + late": lambda: _late_around_resets(case, rng, body, last),
        "two meters interleaved": lambda: [[*chunks(rng, shuffled(rng, body)), *last]],
        "batch with old+new": lambda: _old_and_new(case, rng, body),
        "replay of stored rows": lambda: [[*chunks(rng, body)], [*chunks(rng, shuffled(rng, body)), *last]],
    }
    case.phases = builders[kind]()
    return case


def _late(
    rng: random.Random, body: list[Reading], last: list[list[Reading]], share: float
) -> list[list[list[Reading]]]:
    late = set(rng.sample(body, int(len(body) * share))) | {body[0]}  # the first reading comes late too
    early = [r for r in body if r not in late]
    return [chunks(rng, shuffled(rng, early)), [*chunks(rng, shuffled(rng, sorted(late))), *last]]


def _late_around_resets(
    case: Case, rng: random.Random, body: list[Reading], last: list[list[Reading]]
) -> list[list[list[Reading]]]:
    late: set[Reading] = set()
    for meter, series in case.series.items():
        times = sorted(series)
        for i in range(1, len(times)):
            if series[times[i]] < series[times[i - 1]]:  # a reset: its reading and the one before come late
                late |= {case.reading(meter, times[i]), case.reading(meter, times[i - 1])}
    late &= set(body)
    early = [r for r in body if r not in late]
    return [chunks(rng, shuffled(rng, early)), [*chunks(rng, shuffled(rng, sorted(late))), *last]]


def _old_and_new(case: Case, rng: random.Random, body: list[Reading]) -> list[list[list[Reading]]]:
    """The oldest reading (moved weeks back) and the newest arrive together, last."""
    for meter, series in case.series.items():
        first = min(series)
        old = first - timedelta(days=15)
        series[old] = series.pop(first)
        case.voltage[(meter, old)] = case.voltage.pop((meter, first))
    body = _body_of(case)
    oldest = [case.reading(m, min(s)) for m, s in case.series.items()]
    middle = [r for r in body if r not in oldest]
    return [chunks(rng, shuffled(rng, middle)), [oldest + case.newest()]]
