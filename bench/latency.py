"""Ingest-to-visible latency of the pipeline at fractions of its maximum rate.

Each point posts a fresh fleet paced at the target rate for about ``latency_seconds``,
waits until every reading is stored, then asks PostgreSQL, per stored reading, for the
time from the gateway's receive stamp (``received_at``) to the commit of the consumer
transaction that stored it (``pg_xact_commit_timestamp(xmin)``): the moment a reader
could first see it. Both clocks are this machine's.
"""

from __future__ import annotations

import dataclasses
import math

from bench.config import BenchConfig
from bench.database import BenchDatabase
from bench.pipeline import PipelineServices
from bench.progress import say
from bench.stats import LatencyPoint, latency_point
from bench.workload import Workload
from bench.writer_load import writer_load
from simulator.fleet import FleetSpec


def latency_targets(max_rate: float, config: BenchConfig) -> tuple[list[tuple[str, float]], list[str]]:
    """(label, readings/s) to measure, lowest first, and notes on absolute rates left out."""
    points = [(f"{share:.0%} of max", share * max_rate) for share in config.latency_shares]
    notes = []
    for fixed in config.latency_rates:
        if fixed < max_rate:
            points.append((f"{fixed:,.0f}/s", fixed))
        else:
            notes.append(
                f"{fixed:,.0f} readings/s is above the pipeline's maximum ({max_rate:,.0f}/s): not measured"
            )
    return sorted(points, key=lambda p: p[1]), notes


def measure_point(
    db: BenchDatabase, services: PipelineServices, config: BenchConfig, label: str, rate: float
) -> LatencyPoint:
    """One paced run at ``rate`` readings/s."""
    per_minute = 2 * config.devices
    minutes = max(1, math.ceil(rate * config.latency_seconds / per_minute))
    workload = Workload.generate(
        FleetSpec(devices=config.devices, minutes=minutes, seed=config.seed, prefix="lat")
    )
    db.ensure_days(set(workload.days))
    db.truncate()
    before = services.writer_totals()
    summary = services.post(workload.bodies(config.batch_size), config.concurrency, rate)
    db.wait_stored(workload.unique, config.drain_timeout_s, alive=services.alive)
    load = writer_load(before, services.writer_totals(), services.consumers)
    point = latency_point(label, rate, summary.readings_per_s, db.visible_after_ms())
    point = dataclasses.replace(point, writer=load)
    busy = f", writers busy {load.busy:.0%} (mean batch {load.mean_batch:,.0f})" if load else ""
    say(
        f"latency at {label} ({rate:,.0f}/s target, {point.offered_rate:,.0f}/s offered, "
        f"{point.readings:,} readings): p50 {point.p50_ms:.0f} ms, p99 {point.p99_ms:.0f} ms, "
        f"max {point.max_ms:.0f} ms{busy}"
    )
    return point


def measure_latency(
    db: BenchDatabase, services: PipelineServices, config: BenchConfig, max_rate: float
) -> tuple[list[LatencyPoint], list[str]]:
    """Every latency point for a pipeline whose median maximum is ``max_rate``."""
    targets, notes = latency_targets(max_rate, config)
    for note in notes:
        say(note)
    return [measure_point(db, services, config, label, rate) for label, rate in targets], notes
