"""How busy the consumers' writers were during a latency point, from their own metrics.

Each consumer exports ``consumer_batch_seconds`` (time to write and commit a batch) and
``consumer_batch_messages``. Read before and after a point, their sums tell the share of
the point's wall time each writer spent writing, and the batches' mean size and write
time. A writer busy close to 100 % is at its capacity: readings then wait for the write
in flight and queue in Kafka, which is what a steep p99 at 75 % of the maximum is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

SECONDS = "consumer_batch_seconds"
MESSAGES = "consumer_batch_messages"


@dataclass(frozen=True, slots=True)
class WriterTotals:
    """The consumers' committed-batch counters, summed, read at ``at`` (monotonic s)."""

    at: float
    batches: float
    seconds: float
    messages: float


@dataclass(frozen=True, slots=True)
class WriterLoad:
    """The writers over one interval: ``busy`` is the mean share of wall time writing."""

    busy: float
    batches: int
    mean_batch: float
    mean_write_ms: float


def parse_totals(texts: Iterable[str], at: float) -> WriterTotals:
    """Sum the batch histograms of every consumer's ``/metrics`` text."""
    sums = {f"{SECONDS}_count": 0.0, f"{SECONDS}_sum": 0.0, f"{MESSAGES}_sum": 0.0}
    for text in texts:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in sums:
                    sums[sample.name] += sample.value
    return WriterTotals(
        at=at,
        batches=sums[f"{SECONDS}_count"],
        seconds=sums[f"{SECONDS}_sum"],
        messages=sums[f"{MESSAGES}_sum"],
    )


def writer_load(before: WriterTotals, after: WriterTotals, writers: int) -> WriterLoad | None:
    """The load between two readings of ``writers`` consumers (None: no batch, no time)."""
    wall = after.at - before.at
    batches = round(after.batches - before.batches)
    if wall <= 0 or batches <= 0 or writers <= 0:
        return None
    seconds = after.seconds - before.seconds
    return WriterLoad(
        busy=seconds / (wall * writers),
        batches=batches,
        mean_batch=(after.messages - before.messages) / batches,
        mean_write_ms=seconds * 1000 / batches,
    )
