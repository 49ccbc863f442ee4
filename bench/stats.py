"""Pure figures: percentiles, medians, repeated runs, ratios and the issue's targets."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.writer_load import WriterLoad


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, interpolating linearly between ranks.

    The same definition as NumPy's default: ``q=0`` is the minimum, ``q=1`` the maximum.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} is outside 0..1")
    return _quantile_sorted(sorted(values), q)


def _quantile_sorted(ordered: Sequence[float], q: float) -> float:
    """:func:`percentile` of values already sorted."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


@dataclass(frozen=True, slots=True)
class RunFigure:
    """One timed repetition: ``readings`` handled in ``seconds``."""

    readings: int
    seconds: float

    @property
    def rate(self) -> float:
        """Readings per second (0 for an empty or instant run)."""
        return self.readings / self.seconds if self.seconds > 0 else 0.0


@dataclass(slots=True)
class ModeResult:
    """The repetitions of one mode (limit, naive or pipeline)."""

    name: str
    description: str
    runs: list[RunFigure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def median_rate(self) -> float | None:
        """The median readings/s over the repetitions (None before any run)."""
        return statistics.median(r.rate for r in self.runs) if self.runs else None

    @property
    def spread(self) -> tuple[float, float] | None:
        """The lowest and highest readings/s."""
        if not self.runs:
            return None
        rates = [r.rate for r in self.runs]
        return min(rates), max(rates)


@dataclass(frozen=True, slots=True)
class LatencyPoint:
    """Ingest-to-visible latency at one offered load."""

    label: str
    target_rate: float
    offered_rate: float
    readings: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    writer: WriterLoad | None = None  # how busy the consumers' writers were (bench.writer_load)


def latency_point(
    label: str, target_rate: float, offered_rate: float, millis: Sequence[float]
) -> LatencyPoint:
    """Summarise the per-reading latencies (ms) of one paced run (sorted once)."""
    if not millis:
        raise ValueError("percentile of no values")
    ordered = sorted(millis)
    return LatencyPoint(
        label=label,
        target_rate=target_rate,
        offered_rate=offered_rate,
        readings=len(ordered),
        p50_ms=_quantile_sorted(ordered, 0.50),
        p99_ms=_quantile_sorted(ordered, 0.99),
        max_ms=ordered[-1],
    )


@dataclass(frozen=True, slots=True)
class Target:
    """One target of the issue, and whether this run met it (None: not measured)."""

    name: str
    goal: str
    value: float | None
    met: bool | None


# The targets of issue 15 (ratios, not absolute rates: those vary by machine).
LIMIT_RATIO_GOAL = 0.6
NAIVE_RATIO_GOAL = 80.0
LATENCY_RATE = 10_000.0
LATENCY_P99_GOAL_MS = 150.0
LATENCY_HIGH_LABEL = "75% of max"
LATENCY_HIGH_P99_GOAL_MS = 300.0
SERVICE_MEMORY_GOAL_MIB = 150.0


def evaluate_targets(
    over_limit: float | None,
    over_naive: float | None,
    latency: Sequence[LatencyPoint],
    service_peak_mib: float | None,
) -> list[Target]:
    """The issue's targets against this run's figures (``service_peak_mib``: the highest
    peak of any gateway or consumer process in any phase)."""

    def at_least(value: float | None, goal: float) -> bool | None:
        return None if value is None else value >= goal

    def at_most(value: float | None, goal: float) -> bool | None:
        return None if value is None else value <= goal

    def p99(found: LatencyPoint | None) -> float | None:
        return found.p99_ms if found else None

    at_10k = p99(next((p for p in latency if p.target_rate == LATENCY_RATE), None))
    at_high = p99(next((p for p in latency if p.label == LATENCY_HIGH_LABEL), None))
    return [
        Target(
            "pipeline / limit", f">= {LIMIT_RATIO_GOAL}", over_limit, at_least(over_limit, LIMIT_RATIO_GOAL)
        ),
        Target(
            "pipeline / naive", f">= {NAIVE_RATIO_GOAL:g}", over_naive, at_least(over_naive, NAIVE_RATIO_GOAL)
        ),
        Target(
            f"p99 ingest-to-visible at {LATENCY_RATE:,.0f} readings/s",
            f"<= {LATENCY_P99_GOAL_MS:g} ms",
            at_10k,
            at_most(at_10k, LATENCY_P99_GOAL_MS),
        ),
        Target(
            f"p99 ingest-to-visible at {LATENCY_HIGH_LABEL}",
            f"<= {LATENCY_HIGH_P99_GOAL_MS:g} ms",
            at_high,
            at_most(at_high, LATENCY_HIGH_P99_GOAL_MS),
        ),
        Target(
            "peak memory of any gateway or consumer process (MiB)",
            f"<= {SERVICE_MEMORY_GOAL_MIB:g}",
            service_peak_mib,
            at_most(service_peak_mib, SERVICE_MEMORY_GOAL_MIB),
        ),
    ]
