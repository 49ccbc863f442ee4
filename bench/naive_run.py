"""Mode *naive*: drive the seed-design server with one reading per request.

The server runs as its own process (like the gateway), with a pool of as many
connections as the load generator has requests in flight. It is slow, so each
repetition is bounded in time: it posts for ``naive_seconds`` and counts what was
acknowledged (each acknowledgement comes after that reading's commit).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from typing import IO

from bench.config import BenchConfig
from bench.database import BenchDatabase
from bench.memory import PeakMemory
from bench.progress import say
from bench.stats import ModeResult, RunFigure
from bench.workload import Workload
from devstack import free_port
from energy_ingest.procs import ServiceProcess, wait_http
from simulator.poster import post_all

DESCRIPTION = "seed design: 1 HTTP request + 1 transaction (INSERT + status upsert) per reading"


def _until(deadline: float, bodies: Iterable[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
    for item in bodies:
        if time.perf_counter() >= deadline:
            return
        yield item


def measure_naive(
    db: BenchDatabase,
    env: dict[str, str],
    workload: Workload,
    config: BenchConfig,
    memory: PeakMemory,
    sink: IO[str],
) -> ModeResult:
    """Start the naive server, post single readings for a bounded time per repetition."""
    result = ModeResult("naive", DESCRIPTION)
    port = free_port()
    server = ServiceProcess(
        "naive",
        ["bench", "--serve-naive", str(port)],
        env | {"NAIVE_POOL_SIZE": str(config.concurrency)},
        sink=sink,
        die_with_parent=True,
    ).start()
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", 60, server)
        memory.track("naive server", server.pid)
        say(
            f"naive: {config.repetitions} x {config.naive_seconds:g} s of single-reading requests, "
            f"{config.concurrency} in flight"
        )
        for rep in range(1, config.repetitions + 1):
            db.truncate()
            deadline = time.perf_counter() + config.naive_seconds
            summary = asyncio.run(
                post_all(
                    f"http://127.0.0.1:{port}/v1/ingest",
                    None,
                    _until(deadline, workload.stream(1)),
                    concurrency=config.concurrency,
                    progress=False,
                    retry_503=False,
                )
            )
            if summary.rejected:
                codes = dict(summary.statuses)
                raise RuntimeError(f"naive server refused {summary.rejected} readings (HTTP {codes})")
            stored = db.stored()
            if not 0.95 * summary.accepted <= stored <= summary.accepted:
                raise RuntimeError(
                    f"naive server acknowledged {summary.accepted} readings but stored {stored}"
                )
            run = RunFigure(summary.accepted, summary.seconds)
            result.runs.append(run)
            say(
                f"naive {rep}/{config.repetitions}: {run.readings:,} readings in {run.seconds:.2f} s "
                f"= {run.rate:,.0f}/s"
            )
        memory.untrack("naive server")
    finally:
        server.stop()
    result.notes.append(f"bounded to {config.naive_seconds:g} s per repetition")
    return result
