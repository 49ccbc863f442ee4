"""Mode *pipeline*: simulator → gateway → Kafka → consumer(s) → PostgreSQL.

The gateway and the consumers run as the same child processes ``energy-ingest dev``
starts, with the per-device rate limit lifted (a benchmark posts a whole fleet from one
client). A repetition's time runs from the first request to the commit of the last row,
read from PostgreSQL's commit timestamps once every row is visible.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO

import httpx

from bench.config import BenchConfig
from bench.database import BenchDatabase, wait_for_count
from bench.memory import PeakMemory
from bench.progress import say
from bench.stats import ModeResult, RunFigure
from bench.workload import Workload
from bench.writer_load import WriterTotals, parse_totals
from devstack import free_port
from energy_ingest.procs import ServiceProcess, wait_http
from simulator.fleet import FleetSpec
from simulator.poster import PostSummary, post_all

DESCRIPTION = "simulator → gateway → Kafka → consumer(s) → PostgreSQL, first request to last commit"
UNLIMITED = "1000000000"


@dataclass
class PipelineServices:
    """The gateway and ``consumers`` consumer workers, as child processes."""

    env: dict[str, str]
    consumers: int
    sink: IO[str]
    memory: PeakMemory
    procs: list[ServiceProcess] = field(default_factory=list)
    metrics_urls: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        port = free_port()
        self.gateway_url = f"http://127.0.0.1:{port}"
        self.env = self.env | {
            "GATEWAY_PORT": str(port),
            "RATE_PER_DEVICE": UNLIMITED,
            "BURST_PER_DEVICE": UNLIMITED,
            "CONSUMER_GROUP": "energy-ingest-bench",
        }

    def start(self) -> None:
        """Start everything and wait for the gateway to reach Kafka."""
        gateway = ServiceProcess("gateway", ["gateway"], self.env, sink=self.sink, die_with_parent=True)
        self.procs.append(gateway.start())
        for i in range(1, self.consumers + 1):
            name = f"consumer-{i}"
            metrics = free_port()
            self.metrics_urls.append(f"http://127.0.0.1:{metrics}/metrics")
            env = self.env | {"CONSUMER_INSTANCE_ID": name, "CONSUMER_METRICS_PORT": str(metrics)}
            consumer = ServiceProcess(name, ["consumer"], env, sink=self.sink, die_with_parent=True)
            self.procs.append(consumer.start())
        wait_http(f"{self.gateway_url}/readyz", 90, gateway)
        for proc in self.procs:
            self.memory.track(proc.name, proc.pid)

    def writer_totals(self) -> WriterTotals:
        """The consumers' batch counters now (:mod:`bench.writer_load`)."""
        at = time.monotonic()
        texts = [httpx.get(url, timeout=5).raise_for_status().text for url in self.metrics_urls]
        return parse_totals(texts, at)

    def alive(self) -> bool:
        """Whether every service is still running."""
        return all(p.alive() for p in self.procs)

    def stop(self) -> None:
        """Record the services' last memory figures, then stop them."""
        for proc in reversed(self.procs):
            self.memory.untrack(proc.name)
            proc.stop()

    def post(
        self, workload_bodies: Iterable[tuple[int, bytes]], concurrency: int, rate: float | None
    ) -> PostSummary:
        """Post the bodies to the gateway (flat out, or paced at ``rate`` readings/s)."""
        summary = asyncio.run(
            post_all(
                f"{self.gateway_url}/v1/ingest",
                self.env["INGEST_TOKEN"],
                workload_bodies,
                concurrency=concurrency,
                rate=rate,
                progress=False,
            )
        )
        if summary.rejected:
            raise RuntimeError(
                f"the gateway refused {summary.rejected} readings (HTTP {dict(summary.statuses)})"
            )
        return summary

    def warm_up(self, db: BenchDatabase, config: BenchConfig) -> None:
        """Post a few minutes of a fleet until the consumers store it: they have joined."""
        say("warming up: waiting until the consumers have joined and stored a first fleet")
        warm = Workload.generate(
            FleetSpec(devices=config.devices, minutes=2, seed=config.seed, prefix="warm")
        )
        db.ensure_days(set(warm.days))
        self.post(warm.stream(config.batch_size), config.concurrency, None)
        db.wait_stored(warm.unique, 120, alive=self.alive)
        if config.warmup_s > 0:
            self._warm_broker(config, warm)

    def _warm_broker(self, config: BenchConfig, warm: Workload) -> None:
        """Post ``warm`` again and again, flat out, for ``config.warmup_s``; wait until consumed.

        Kafka's JVM compiles its hot paths during its first minute of load: on two cores,
        0.2 of a core in the bench's first pipeline runs, half of the broker's CPU then. A
        broker in service has run for days; so the runs are measured after this. The same
        readings each round: the consumers store none twice, and the gateway sees the same
        devices, as from a fleet in service (new devices would grow its per-device state).
        """
        say(f"warming up for {config.warmup_s:g} s more: Kafka's JVM compiles its hot paths first")
        consumed = self.writer_totals().messages
        bodies = warm.bodies(config.batch_size)
        deadline = time.monotonic() + config.warmup_s
        while time.monotonic() < deadline:
            consumed += self.post(bodies, config.concurrency, None).accepted
        timeout = config.drain_timeout_s
        wait_for_count(
            lambda: self.writer_totals().messages,
            consumed,
            timeout,
            "messages consumed",
            lambda seen: RuntimeError(
                f"the consumers took {seen:,.0f} of {consumed:,.0f} messages in {timeout:g} s"
            ),
            alive=self.alive,
        )


def measure_pipeline(
    db: BenchDatabase, services: PipelineServices, workload: Workload, config: BenchConfig
) -> ModeResult:
    """Post ``workload`` flat out ``config.repetitions`` times into emptied tables."""
    result = ModeResult("pipeline", DESCRIPTION)
    bodies = workload.bodies(config.batch_size)
    say(
        f"pipeline: {config.repetitions} x {len(workload):,} readings flat out, "
        f"{config.batch_size} per request, {config.concurrency} in flight, {config.consumers} consumer(s)"
    )
    for rep in range(1, config.repetitions + 1):
        db.truncate()
        started = time.time()
        summary = services.post(bodies, config.concurrency, None)
        db.wait_stored(workload.unique, config.drain_timeout_s, alive=services.alive)
        run = RunFigure(len(workload), db.last_commit_epoch() - started)
        result.runs.append(run)
        say(
            f"pipeline {rep}/{config.repetitions}: {run.readings:,} readings in {run.seconds:.2f} s "
            f"= {run.rate:,.0f}/s (gateway acknowledged all in {summary.seconds:.2f} s "
            f"= {summary.readings_per_s:,.0f}/s)"
        )
    result.notes.append(
        f"{config.consumers} consumer(s), {config.partitions} partitions per topic, "
        f"{config.batch_size} readings per request, {config.concurrency} requests in flight"
    )
    return result
