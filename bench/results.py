"""Everything one run measured, and its JSON form."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bench.config import BenchConfig
from bench.machine import Machine
from bench.memory import MemoryFigure
from bench.stats import LatencyPoint, ModeResult, Target, evaluate_targets, ratio

SCHEMA_VERSION = 1
MODE_ORDER = ("limit", "naive", "pipeline")
SERVICE_PROCESSES = frozenset({"gateway"})  # and every "consumer-<n>"


@dataclass(slots=True)
class BenchResult:
    """One run of ``energy-ingest bench``."""

    command: str
    started_at: str
    config: BenchConfig
    machine: Machine
    finished_at: str = ""
    seconds: float = 0.0
    workload: dict[str, int] = field(default_factory=dict)
    modes: dict[str, ModeResult] = field(default_factory=dict)
    latency: list[LatencyPoint] = field(default_factory=list)
    memory: dict[str, dict[str, MemoryFigure]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def median(self, mode: str) -> float | None:
        """The median readings/s of ``mode`` (None if it did not run)."""
        found = self.modes.get(mode)
        return found.median_rate if found else None

    @property
    def ratios(self) -> dict[str, float | None]:
        """pipeline/limit and pipeline/naive, from the medians."""
        pipeline = self.median("pipeline")
        return {
            "pipeline_over_limit": ratio(pipeline, self.median("limit")),
            "pipeline_over_naive": ratio(pipeline, self.median("naive")),
        }

    @property
    def targets(self) -> list[Target]:
        """The issue's targets against this run."""
        r = self.ratios
        return evaluate_targets(
            r["pipeline_over_limit"], r["pipeline_over_naive"], self.latency, self.service_peak_mib
        )

    @property
    def service_peak_mib(self) -> float | None:
        """The highest peak of any gateway or consumer process, over every phase."""
        peaks = [
            fig.peak_kb / 1024
            for procs in self.memory.values()
            for name, fig in procs.items()
            if name in SERVICE_PROCESSES or name.startswith("consumer-")
        ]
        return max(peaks) if peaks else None


def _mode_json(mode: ModeResult) -> dict[str, Any]:
    spread = mode.spread
    return {
        "description": mode.description,
        "median_readings_per_s": mode.median_rate,
        "min_readings_per_s": spread[0] if spread else None,
        "max_readings_per_s": spread[1] if spread else None,
        "runs": [{"readings": r.readings, "seconds": r.seconds, "readings_per_s": r.rate} for r in mode.runs],
        "notes": mode.notes,
    }


def to_json(result: BenchResult) -> dict[str, Any]:
    """A plain, stable JSON document of the run."""
    return {
        "schema": SCHEMA_VERSION,
        "command": result.command,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "seconds": result.seconds,
        "config": asdict(result.config),
        "machine": result.machine,
        "workload": result.workload,
        "modes": {name: _mode_json(result.modes[name]) for name in MODE_ORDER if name in result.modes},
        "ratios": result.ratios,
        "latency": [asdict(p) for p in result.latency],
        "memory_kib": {
            phase: {proc: {"peak": fig.peak_kb, "method": fig.method} for proc, fig in procs.items()}
            for phase, procs in result.memory.items()
        },
        "targets": [asdict(t) for t in result.targets],
        "notes": result.notes,
        "warnings": result.warnings,
        "errors": result.errors,
    }
