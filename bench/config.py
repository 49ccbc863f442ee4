"""The benchmark's sizes and knobs, resolved once from the command line."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields, replace

from consumer.settings import ConsumerSettings

# The limit mode writes transactions as large as the consumer's (BATCH_MAX_RECORDS default).
CONSUMER_BATCH: int = ConsumerSettings.model_fields["batch_max_records"].default


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """Everything a run depends on (written into the results)."""

    devices: int = 2000
    minutes: int = 60
    seed: int = 1
    repetitions: int = 5
    batch_size: int = 2000
    concurrency: int = 8
    consumers: int = 1
    partitions: int = 12
    writer_batch: int = CONSUMER_BATCH
    naive_seconds: float = 30.0
    latency_seconds: float = 20.0
    latency_shares: tuple[float, ...] = (0.25, 0.5, 0.75)
    latency_rates: tuple[float, ...] = (10_000.0,)
    drain_timeout_s: float = 180.0
    warmup_s: float = 30.0
    modes: tuple[str, ...] = ("limit", "naive", "pipeline", "latency")
    quick: bool = False


QUICK = BenchConfig(
    devices=1000,
    minutes=30,
    repetitions=3,
    naive_seconds=8.0,
    latency_seconds=6.0,
    drain_timeout_s=60.0,
    warmup_s=10.0,
    quick=True,
)

MODES = ("limit", "naive", "pipeline", "latency")

# Command-line options that override a field of the same name when given.
_OVERRIDES = {f.name for f in fields(BenchConfig)} - {"latency_shares", "latency_rates", "modes", "quick"}


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    """``--quick`` or the full defaults, with every option the user gave on top."""
    base = QUICK if args.quick else BenchConfig()
    given = {name: getattr(args, name) for name in _OVERRIDES if getattr(args, name, None) is not None}
    if args.modes:
        wanted = tuple(m.strip() for m in args.modes.split(",") if m.strip())
        unknown = set(wanted) - set(MODES)
        if unknown:
            raise SystemExit(
                f"bench: unknown mode(s) {', '.join(sorted(unknown))}; choose from {', '.join(MODES)}"
            )
        if "latency" in wanted and "pipeline" not in wanted:
            raise SystemExit("bench: latency needs the pipeline's maximum rate; add pipeline to --modes")
        given["modes"] = tuple(m for m in MODES if m in wanted)
    if args.latency_rates is not None:
        given["latency_rates"] = tuple(args.latency_rates)
    return replace(base, **given)
