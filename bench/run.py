"""`energy-ingest bench`: limit, naive and pipeline side by side, latency, memory, report.

Only the command line lives here; the heavy modules load when the command runs, so
registering ``bench`` costs the other commands nothing.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from bench.config import MODES, QUICK, BenchConfig, config_from_args

if TYPE_CHECKING:
    from bench.results import BenchResult

QUICK_BUDGET_S = 300.0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``bench`` command."""
    p = sub.add_parser(
        "bench",
        help="measure the pipeline against the raw COPY limit and the naive row-by-row design",
        description="On this machine, with its own Kafka and PostgreSQL in a temporary folder: store the "
        "same simulated fleet (1) in-process with the consumer's COPY + merge transactions (the limit), "
        "(2) through a seed-style server, one request and one transaction per reading (naive), and (3) "
        "through gateway → Kafka → consumer(s) (pipeline); each repeated, median reported; then "
        "ingest-to-visible latency at 25/50/75 % of the pipeline's maximum and peak memory per process. "
        "Writes JSON, Markdown and a PNG chart into results/bench-<time>/ and rewrites docs/benchmarks.md.",
    )
    p.add_argument("--quick", action="store_true", help="a smaller fleet and shorter runs: under 5 minutes")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    p.add_argument("--results", type=Path, metavar="DIR", help="results folder (default: <project>/results)")
    p.add_argument("--docs", type=Path, metavar="PATH", help="page to rewrite (default: docs/benchmarks.md)")
    p.add_argument("--no-docs", action="store_true", help="do not rewrite the docs page")
    p.add_argument("--modes", help=f"comma-separated subset of {','.join(MODES)} (default: all)")
    p.add_argument("--dir", help="keep the stack's data in DIR (default: a temporary folder, removed)")
    p.add_argument("--kafka-port", type=int, default=0, help="(default: a free port)")
    p.add_argument("--pg-port", type=int, default=0, help="(default: a free port)")
    full = BenchConfig()
    for name, kind, text in (
        ("devices", int, "meters and vehicles each"),
        ("minutes", int, "simulated minutes of the throughput fleet"),
        ("seed", int, "fleet seed"),
        ("repetitions", int, "runs per mode"),
        ("batch_size", int, "readings per gateway request"),
        ("concurrency", int, "requests in flight (and naive pool size)"),
        ("consumers", int, "consumer replicas"),
        ("partitions", int, "partitions per topic"),
        ("writer_batch", int, "readings per limit transaction (the consumer's BATCH_MAX_RECORDS)"),
        ("naive_seconds", float, "time bound of each naive run"),
        ("latency_seconds", float, "length of each latency run"),
        ("drain_timeout_s", float, "how long to wait for every row to be visible"),
        (
            "warmup_s",
            float,
            "seconds of unmeasured load before the pipeline runs (Kafka's JVM compiles "
            "its hot paths in its first minute)",
        ),
    ):
        p.add_argument(
            f"--{name.replace('_', '-')}",
            type=kind,
            help=f"{text} (default: {_defaults(full, QUICK, name)})",
        )
    p.add_argument(
        "--latency-rates",
        type=float,
        nargs="*",
        help="absolute readings/s to measure latency at too, when below the maximum (default: 10000)",
    )
    p.add_argument(
        "--serve-naive", type=int, metavar="PORT", help="only run the naive baseline server on PORT"
    )
    p.set_defaults(func=main)


def _defaults(full: BenchConfig, quick: BenchConfig, name: str) -> str:
    a, b = getattr(full, name), getattr(quick, name)
    return f"{a:g}" if a == b else f"{a:g}; with --quick: {b:g}"


def _project_root() -> Path:
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def _unwind_on(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM or SIGHUP (``timeout``, a job runner, a closed terminal) unwinds like Ctrl-C:
    the ``finally`` blocks stop the services, Kafka and PostgreSQL and remove the data
    folder. A second signal is ignored so that it cannot cut that shutdown short."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def main(args: argparse.Namespace) -> int:
    """Run the benchmark and write its report."""
    if args.serve_naive is not None:
        from bench.naive import serve

        return serve(args.serve_naive)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _unwind_on)
    from bench.machine import load_average
    from bench.progress import say
    from bench.results import BenchResult
    from bench.session import Place, busy_warnings, run_bench

    config = config_from_args(args)
    started = datetime.now(UTC).replace(microsecond=0)
    clock = time.monotonic()
    root = _project_root()
    folder = (args.results or root / "results") / f"bench-{started.strftime('%Y%m%dT%H%M%SZ')}"
    folder.mkdir(parents=True, exist_ok=True)
    keep = args.dir is not None
    place = Place(
        data_dir=Path(args.dir).absolute() if keep else Path(tempfile.mkdtemp(prefix="energy-bench-")),
        keep_data=keep,
        kafka_port=args.kafka_port,
        pg_port=args.pg_port,
    )
    command = (
        shlex.join(["energy-ingest", *sys.argv[1:]]) if sys.argv[1:2] == ["bench"] else "energy-ingest bench"
    )
    result = BenchResult(
        command, started.isoformat().replace("+00:00", "Z"), config, {"load_at_start": load_average()}
    )
    say(f"results go to {folder}; services' output to {folder / 'services.log'}")
    with (folder / "services.log").open("w") as sink:
        run_bench(config, place, sink, result)
    result.seconds = time.monotonic() - clock
    result.finished_at = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    busy_warnings(result, load_average())
    if config.quick and result.seconds > QUICK_BUDGET_S:
        result.warnings.append(f"--quick took {result.seconds:.0f} s, over its {QUICK_BUDGET_S:.0f} s budget")
    return _write(result, args, root, folder)


def _write(result: BenchResult, args: argparse.Namespace, root: Path, folder: Path) -> int:
    from bench.chart import write_chart
    from bench.docs import write_docs
    from bench.progress import rate, say
    from bench.report import markdown, write_files

    paths = write_files(result, folder, args.json)
    chart = write_chart(result, folder / "bench.png")
    print("\n" + markdown(result), flush=True)
    for kind, path in paths.items():
        say(f"{kind}: {path}")
    say(f"chart: {chart}")
    if not args.no_docs:
        docs = args.docs or root / "docs" / "benchmarks.md"
        shown = chart.relative_to(root) if chart.is_relative_to(root) else chart
        say(f"docs: {write_docs(result, docs, shown)}")
    say(
        f"done in {result.seconds:,.0f} s: pipeline {rate(result.median('pipeline'))}, "
        f"limit {rate(result.median('limit'))}, naive {rate(result.median('naive'))}"
    )
    return 1 if result.errors else 0
