"""The benchmark's figures and report: percentiles, medians, ratios, targets, outputs.

Pure logic only: no stack, no services. The run itself is exercised by `energy-ingest
bench --quick`.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import pytest

from bench.config import QUICK, BenchConfig, config_from_args
from bench.latency import latency_targets
from bench.memory import MemoryFigure
from bench.report import markdown, write_files
from bench.results import BenchResult, to_json
from bench.run import add_parser
from bench.stats import (
    LatencyPoint,
    ModeResult,
    RunFigure,
    evaluate_targets,
    latency_point,
    percentile,
    ratio,
)


def test_percentile_interpolates_between_ranks_like_numpy() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 1.0) == 100.0
    assert percentile(values, 0.5) == pytest.approx(50.5)
    assert percentile(values, 0.99) == pytest.approx(99.01)
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0  # order of input does not matter


def test_percentile_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 1.5)


def test_ratio_is_none_without_both_figures() -> None:
    assert ratio(10.0, 4.0) == 2.5
    assert ratio(None, 4.0) is None
    assert ratio(10.0, None) is None
    assert ratio(10.0, 0.0) is None


def test_mode_result_reports_median_and_spread_of_rates() -> None:
    mode = ModeResult("limit", "x", [RunFigure(1000, 1.0), RunFigure(1000, 4.0), RunFigure(1000, 2.0)])
    assert mode.median_rate == 500.0
    assert mode.spread == (250.0, 1000.0)
    assert ModeResult("naive", "y").median_rate is None
    assert RunFigure(10, 0.0).rate == 0.0


def test_latency_point_summarises_millis() -> None:
    point = latency_point("50% of max", 5000.0, 4990.0, [float(v) for v in range(1, 1001)])
    assert point.readings == 1000
    assert point.p50_ms == pytest.approx(500.5)
    assert point.p99_ms == pytest.approx(990.01)
    assert point.max_ms == 1000.0


def test_latency_targets_are_shares_of_max_plus_reachable_fixed_rates() -> None:
    config = replace(QUICK, latency_rates=(10_000.0, 50_000.0))
    points, notes = latency_targets(20_000.0, config)
    assert [rate for _, rate in points] == [5_000.0, 10_000.0, 10_000.0, 15_000.0]
    assert [label for label, _ in points] == ["25% of max", "50% of max", "10,000/s", "75% of max"]
    assert len(notes) == 1
    assert "50,000" in notes[0]


def _point(rate: float, p99: float) -> LatencyPoint:
    return LatencyPoint(f"{rate:,.0f}/s", rate, rate, 100, p99 / 2, p99, p99 * 1.2)


def test_targets_met_missed_and_not_measured() -> None:
    curve = [_point(10_000.0, 140.0), LatencyPoint("75% of max", 30_000.0, 30_000.0, 100, 90, 290, 300)]
    met = evaluate_targets(0.65, 85.0, curve, 120.0)
    assert [t.met for t in met] == [True, True, True, True, True]
    slow = [_point(10_000.0, 151.0), LatencyPoint("75% of max", 30_000.0, 30_000.0, 100, 90, 301, 400)]
    missed = evaluate_targets(0.59, 79.0, slow, 151.0)
    assert [t.met for t in missed] == [False, False, False, False, False]
    unknown = evaluate_targets(None, None, [_point(5_000.0, 100.0)], None)
    assert [t.met for t in unknown] == [None, None, None, None, None]


def _result() -> BenchResult:
    result = BenchResult(
        command="energy-ingest bench --quick",
        started_at="2026-01-01T00:00:00Z",
        config=QUICK,
        machine={"cores": 2, "cpu": "test cpu", "load_at_start": 0.1},
        finished_at="2026-01-01T00:04:00Z",
        seconds=240.0,
        workload={"readings": 60_600, "unique": 60_000},
    )
    result.modes["limit"] = ModeResult("limit", "copy", [RunFigure(60_000, 1.0), RunFigure(60_000, 1.2)])
    result.modes["naive"] = ModeResult("naive", "row by row", [RunFigure(500, 1.0)])
    result.modes["pipeline"] = ModeResult("pipeline", "kafka", [RunFigure(60_000, 2.0)])
    result.latency = [_point(7_500.0, 400.0), _point(10_000.0, 450.0)]
    result.memory = {
        "limit": {"postgres": MemoryFigure(2048, "pss")},
        "pipeline": {"gateway": MemoryFigure(1024, "hwm"), "consumer-1": MemoryFigure(200 * 1024, "hwm")},
        "latency": {"consumer-1": MemoryFigure(100 * 1024, "hwm"), "kafka": MemoryFigure(400 * 1024, "hwm")},
    }
    result.warnings.append("noisy")
    return result


def test_ratios_come_from_the_medians() -> None:
    r = _result().ratios
    assert r["pipeline_over_limit"] == pytest.approx(30_000 / 55_000)
    assert r["pipeline_over_naive"] == pytest.approx(60.0)


def test_markdown_report_has_every_section_and_figure() -> None:
    text = markdown(_result())
    for expected in (
        "### Throughput",
        "| limit | copy | 55,000 | 50,000 to 60,000 | 2 |",
        "| pipeline | kafka | 30,000 |",
        "pipeline / limit = **0.55**",
        "pipeline / naive = **60.0**",
        "### Ingest-to-visible latency",
        "| 10,000/s | 10,000 | 10,000 | 100 | 225 | 450 | 540 |",
        "| p99 ingest-to-visible at 10,000 readings/s | <= 150 ms | 450 | **no** |",
        "| p99 ingest-to-visible at 75% of max | <= 300 ms | n/a | not measured |",
        "| peak memory of any gateway or consumer process (MiB) | <= 150 | 200 | **no** |",
        "| process | limit | pipeline | latency | whole run |",
        "| postgres | 2 | - | - | 2 |",
        "| gateway | - | 1 | - | 1 |",
        "| consumer-1 | - | 200 | 100 | 200 |",
        "> **Warning:** noisy",
        "| cpu | test cpu |",
    ):
        assert expected in text, expected


def test_json_is_complete_and_plain(tmp_path: Path) -> None:
    paths = write_files(_result(), tmp_path / "run", tmp_path / "copy.json")
    doc = json.loads(paths["json"].read_text())
    assert doc == json.loads((tmp_path / "copy.json").read_text())
    assert doc["modes"]["limit"]["median_readings_per_s"] == 55_000.0
    assert doc["modes"]["naive"]["runs"] == [{"readings": 500, "seconds": 1.0, "readings_per_s": 500.0}]
    assert doc["ratios"]["pipeline_over_naive"] == pytest.approx(60.0)
    assert doc["latency"][1]["p99_ms"] == 450.0
    assert doc["memory_kib"]["limit"]["postgres"] == {"peak": 2048, "method": "pss"}
    assert doc["config"]["quick"] is True
    assert [t["met"] for t in doc["targets"]] == [False, False, False, None, False]
    assert paths["markdown"].read_text().startswith("# Benchmark 2026-01-01T00:00:00Z")
    assert to_json(_result())["errors"] == []


def test_chart_is_a_png(tmp_path: Path) -> None:
    from bench.chart import write_chart

    path = write_chart(_result(), tmp_path / "bench.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="energy-ingest")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["bench", *argv])


def test_quick_defaults_and_overrides() -> None:
    assert config_from_args(_parse()) == BenchConfig()
    quick = config_from_args(_parse("--quick", "--devices", "10", "--latency-rates", "500"))
    assert quick == replace(QUICK, devices=10, latency_rates=(500.0,))
    assert config_from_args(_parse("--modes", "naive,limit")).modes == ("limit", "naive")
    with pytest.raises(SystemExit):
        config_from_args(_parse("--modes", "latency"))
