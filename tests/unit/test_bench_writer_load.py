"""The writers' load per latency point (bench.writer_load), and its columns in the report.

Pure logic: the metrics texts come from real prometheus_client registries holding
histograms with the consumer's names, filled with known observations.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from bench.config import QUICK
from bench.report import latency_table
from bench.results import BenchResult, to_json
from bench.stats import LatencyPoint
from bench.writer_load import WriterLoad, WriterTotals, parse_totals, writer_load


def _metrics(seconds: list[float], messages: list[int]) -> str:
    """One consumer's /metrics text after committing batches of these sizes and times."""
    registry = CollectorRegistry()
    write = Histogram("consumer_batch_seconds", "t", registry=registry, buckets=(0.1, 1.0))
    size = Histogram("consumer_batch_messages", "m", registry=registry, buckets=(1000, 20000))
    other = Counter("consumer_rows_stored_total", "rows", ["table"], registry=registry)
    for s in seconds:
        write.observe(s)
    for m in messages:
        size.observe(m)
    other.labels("meter_telemetry").inc(12345)  # another family with _total/_created samples
    return generate_latest(registry).decode()


def test_totals_are_summed_over_every_consumer() -> None:
    first = _metrics([0.25, 0.5], [2000, 3000])
    second = _metrics([1.0], [20000])
    totals = parse_totals([first, second], at=7.5)
    assert totals == WriterTotals(at=7.5, batches=3.0, seconds=1.75, messages=25000.0)


def test_no_text_is_all_zero() -> None:
    assert parse_totals([], at=1.0) == WriterTotals(at=1.0, batches=0.0, seconds=0.0, messages=0.0)


def test_load_over_an_interval() -> None:
    before = WriterTotals(at=10.0, batches=5.0, seconds=1.0, messages=1000.0)
    after = WriterTotals(at=20.0, batches=15.0, seconds=8.0, messages=21000.0)
    # 7 s of writing in 10 s by one writer; 10 batches of 20,000 messages, 700 ms each
    one = writer_load(before, after, writers=1)
    assert one is not None
    assert (one.batches, one.mean_batch) == (10, 2000.0)
    assert one.busy == pytest.approx(0.7)
    assert one.mean_write_ms == pytest.approx(700.0)
    # two writers shared the same 7 s of writing over the 10 s: each was busy 35 %
    two = writer_load(before, after, writers=2)
    assert two is not None
    assert two.busy == pytest.approx(0.35)


def test_no_batch_or_no_time_is_no_figure() -> None:
    t = WriterTotals(at=10.0, batches=5.0, seconds=1.0, messages=1000.0)
    assert writer_load(t, replace(t, at=20.0), writers=1) is None  # nothing committed
    assert writer_load(t, replace(t, batches=9.0), writers=1) is None  # no time passed
    assert writer_load(t, replace(t, at=20.0, batches=6.0), writers=0) is None


def test_report_and_json_carry_the_writers_load() -> None:
    result = BenchResult("energy-ingest bench", "2026-01-01T00:00:00Z", QUICK, {"cores": 2})
    busy = WriterLoad(busy=0.97, batches=40, mean_batch=14_250.0, mean_write_ms=512.4)
    result.latency = [
        LatencyPoint("25% of max", 8_000.0, 8_010.0, 100, 100.0, 150.0, 160.0),
        LatencyPoint("75% of max", 24_000.0, 24_010.0, 100, 300.0, 500.0, 520.0, busy),
    ]
    rows = latency_table(result).splitlines()
    assert rows[0].endswith("| writers busy | mean batch | mean write ms |")
    assert rows[2].endswith("| 160 | - | - | - |")
    assert rows[3].endswith("| 520 | 97% | 14,250 | 512 |")
    assert all(row.count("|") == rows[0].count("|") for row in rows)
    written = to_json(result)["latency"]
    assert written[0]["writer"] is None
    expected = {"busy": 0.97, "batches": 40, "mean_batch": 14_250.0, "mean_write_ms": 512.4}
    assert written[1]["writer"] == expected
