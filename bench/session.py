"""One bench session: its own stack, the modes in order, every process measured."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bench.config import BenchConfig
from bench.database import BenchDatabase
from bench.latency import measure_latency
from bench.limit import measure_limit
from bench.machine import describe
from bench.memory import PeakMemory
from bench.naive_run import measure_naive
from bench.pipeline import PipelineServices, measure_pipeline
from bench.progress import say
from bench.results import BenchResult
from bench.workload import Workload
from devstack import Stack
from energy_ingest.provision import provision
from simulator.fleet import FleetSpec

# Service settings a user may export before running the bench; recorded with the figures.
SERVICE_KNOBS = (
    "BATCH_MAX_RECORDS",
    "BATCH_MAX_WAIT_MS",
    "BATCH_QUIET_MS",
    "KAFKA_LINGER_MS",
    "KAFKA_MAX_BATCH_BYTES",
    "MAX_IN_FLIGHT_RECORDS",
    "PRODUCE_DEADLINE_S",
)


def service_settings_note() -> str:
    """Which service knobs came from the environment (the rest are the services' defaults)."""
    given = [f"{k}={os.environ[k]}" for k in SERVICE_KNOBS if k in os.environ]
    if not given:
        return "gateway and consumers at their default settings"
    return "service settings from the environment: " + ", ".join(given) + " (the rest at their defaults)"


@dataclass(frozen=True, slots=True)
class Place:
    """Where a run keeps its stack, and on which ports."""

    data_dir: Path
    keep_data: bool
    kafka_port: int
    pg_port: int


def run_bench(config: BenchConfig, place: Place, sink: IO[str], result: BenchResult) -> BenchResult:
    """Start the stack, run every mode asked for into ``result``, stop everything."""
    stack = Stack(place.data_dir, kafka_port=place.kafka_port, pg_port=place.pg_port)
    memory = PeakMemory()
    try:
        say(f"starting Kafka and PostgreSQL in {place.data_dir}")
        stack.start()
        env = provision(
            stack.database_url, stack.kafka_env(), place.data_dir / "secrets.json", config.partitions
        )
        env["LOG_LEVEL"] = "WARNING"
        db = BenchDatabase(stack.database_url)
        db.enable_commit_timestamps(stack)
        result.machine = describe(db.server_version()) | result.machine

        spec = FleetSpec(devices=config.devices, minutes=config.minutes, seed=config.seed, prefix="bench")
        workload = Workload.generate(spec)
        db.ensure_days(set(workload.days))
        result.workload = {"readings": len(workload), "unique": workload.unique}
        result.notes.append(service_settings_note())
        say(f"fleet: {config.devices:,} meters + {config.devices:,} vehicles, {len(workload):,} readings")

        memory.start()
        if stack.postgres.pid is not None:
            memory.track("postgres", stack.postgres.pid, tree=True)
        if stack.kafka.pid is not None:
            memory.track("kafka", stack.kafka.pid)
        memory.track("bench (loader, load generator)", os.getpid())

        if "limit" in config.modes:
            with memory.phase("limit"), _step(result, "limit"):
                result.modes["limit"] = measure_limit(db, env["CONSUMER_DATABASE_URL"], workload, config)
        if "naive" in config.modes:
            with memory.phase("naive"), _step(result, "naive"):
                result.modes["naive"] = measure_naive(db, env, workload, config, memory, sink)
        if "pipeline" in config.modes:
            services = PipelineServices(env, config.consumers, sink, memory)
            try:
                with memory.phase("pipeline"), _step(result, "pipeline"):
                    say(f"starting the gateway and {config.consumers} consumer(s)")
                    services.start()
                    services.warm_up(db, config)
                    result.modes["pipeline"] = measure_pipeline(db, services, workload, config)
                top = result.median("pipeline")
                if "latency" in config.modes and top:
                    with memory.phase("latency"), _step(result, "latency"):
                        result.latency, notes = measure_latency(db, services, config, top)
                        result.notes += notes
            finally:
                services.stop()
    finally:
        memory.close()
        say("stopping Kafka and PostgreSQL")
        stack.stop()
        if not place.keep_data:
            shutil.rmtree(place.data_dir, ignore_errors=True)
    result.memory = memory.peaks
    return result


@contextmanager
def _step(result: BenchResult, name: str) -> Iterator[None]:
    """Announce a mode; record its failure (the run then exits 1) so the other modes still run."""
    say(f"--- {name} ---")
    try:
        yield
    except Exception as exc:
        result.errors.append(f"{name}: {exc.__class__.__name__}: {exc}")
        say(f"{name} FAILED: {exc}")


def busy_warnings(result: BenchResult, load_end: float) -> None:
    """Say when the figures cannot be trusted as they are."""
    cores = int(result.machine.get("cores", 1)) or 1
    load_start = float(result.machine.get("load_at_start", 0.0))
    result.machine["load_at_end"] = load_end
    if load_start > 0.5 * cores:
        result.warnings.append(
            f"the machine was busy before the run started (load average {load_start:.1f} on {cores} cores): "
            "figures are noisy; re-run on a quiet machine"
        )
    if result.config.quick:
        result.warnings.append("--quick: a small fleet and short runs; use the full run for reported figures")
