"""Mode *limit*: the consumer's own transactions, fed straight from memory.

One loader, one connection (the consumer's login), the consumer's :class:`BatchWriter`:
per batch one transaction that COPYs into the staging tables and runs the same merge
queries (history insert, status upsert, hourly rollup). No HTTP, no Kafka, no decoding:
the rows are built before the clock starts. What is left is the database's own cost.
"""

from __future__ import annotations

import asyncio
import time

from bench.config import BenchConfig
from bench.database import BenchDatabase
from bench.progress import say
from bench.stats import ModeResult, RunFigure
from bench.workload import Workload
from consumer.batch import Batch
from consumer.writer import BatchWriter

DESCRIPTION = "in-process COPY + merge (consumer's BatchWriter), no HTTP, no Kafka"


async def _load(writer_url: str, batches: list[Batch]) -> float:
    writer = BatchWriter(writer_url, group_id="bench-limit")
    try:
        await writer.ensure_partitions(set().union(*(b.days for b in batches)))
        started = time.perf_counter()
        for batch in batches:
            await writer.write(batch)
        return time.perf_counter() - started
    finally:
        await writer.close()


def measure_limit(db: BenchDatabase, writer_url: str, workload: Workload, config: BenchConfig) -> ModeResult:
    """Store ``workload`` ``config.repetitions`` times into emptied tables."""
    result = ModeResult("limit", DESCRIPTION)
    batches = workload.batches(config.writer_batch)
    say(
        f"limit: {config.repetitions} x {len(workload):,} readings in transactions of {config.writer_batch:,}"
    )
    for rep in range(1, config.repetitions + 1):
        db.truncate()
        seconds = asyncio.run(_load(writer_url, batches))
        stored = db.stored()
        if stored != workload.unique:
            raise RuntimeError(f"limit stored {stored} rows, expected {workload.unique}")
        run = RunFigure(len(workload), seconds)
        result.runs.append(run)
        say(
            f"limit {rep}/{config.repetitions}: {run.readings:,} readings in {seconds:.2f} s "
            f"= {run.rate:,.0f}/s"
        )
    return result
