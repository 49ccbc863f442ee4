"""OCPP ingest beside HTTP: throughput and ingest-to-visible latency, on one stack, one run.

Starts its own Kafka and PostgreSQL (devstack, in a temporary folder), one gateway and one
consumer (the processes ``energy-ingest dev`` runs; the gateway's per-connection OCPP rate
limit and the per-device HTTP limit lifted), then, each into emptied tables:

1. for each OCPP version, ``--charge-points`` charge points each send MeterValues (one
   register reading each) back to back for ``--seconds``: readings acknowledged per second
   (the CALLRESULT comes only after Kafka acknowledged the reading);
2. HTTP for as long, the same register readings (``kwhRegisterAc``) from as many meters:
   single-reading requests (``--http-concurrency`` in flight, default 8) and batches of
   ``--http-batch`` (8 in flight);
3. latency at one offered rate (``--latency-rate``, default half the OCPP 1.6 maximum) for
   OCPP 1.6 and HTTP single readings, paced.

Every run waits until each reading is stored; latency is, per stored reading, the time
from the gateway's receive stamp (``received_at``) to the commit of the consumer
transaction that stored it (``pg_xact_commit_timestamp``), as ``energy-ingest bench``
measures it; "stored/s" is readings / (first send -> last commit). The load generators
run on the same cores as the services.

    .venv/bin/python -m bench.ocpp --charge-points 200 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.config import BenchConfig
from bench.database import BenchDatabase
from bench.memory import PeakMemory
from bench.ocpp_load import http_load, ocpp_load
from bench.pipeline import UNLIMITED, PipelineServices
from bench.progress import say
from bench.stats import percentile
from devstack import Stack
from energy_ingest.procs import cpu_seconds
from energy_ingest.provision import provision

OCPP_KNOBS = {
    "OCPP_MESSAGES_PER_S": "1000000",
    "OCPP_MESSAGE_BURST": "1000000",
    "OCPP_MAX_CONNECTIONS": "100000",
    "RATE_PER_DEVICE": UNLIMITED,
    "BURST_PER_DEVICE": UNLIMITED,
}


@dataclass(frozen=True, slots=True)
class Row:
    """One measured run."""

    mode: str
    offered: str
    readings: int
    seconds: float
    acked_per_s: float
    stored_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    gateway_cpu_us: float  # gateway CPU per reading
    loader_cpu_us: float  # the load generator's (this process's) CPU per reading
    errors: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a load did: readings acknowledged in the measured seconds, rows to expect, errors,
    and the Unix time the measured sending began."""

    measured: int
    seconds: float
    expected: int
    errors: int
    started_epoch: float


Load = Callable[[datetime, str], Outcome]


class Bench:
    """The stack, the services and the database helpers of one run."""

    def __init__(self, db: BenchDatabase, services: PipelineServices, secret: str) -> None:
        self.db = db
        self.services = services
        self.secret = secret
        self.gateway_pid = services.procs[0].pid
        self.ws_base = services.gateway_url.replace("http://", "ws://") + "/ocpp"
        self.runs = 0

    def _base(self) -> datetime:
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
        self.db.ensure_days({(base + timedelta(hours=h)).date() for h in range(4)})
        return base

    def measure(self, mode: str, offered: str, load: Load) -> Row:
        """Empty the tables, run ``load(base, prefix)``, wait until all is stored, read the figures."""
        self.runs += 1
        self.db.truncate()
        base = self._base()
        cpu0, own0 = cpu_seconds(self.gateway_pid), cpu_seconds(os.getpid())
        out = load(base, f"b{self.runs}")
        own = cpu_seconds(os.getpid()) - own0
        measured, seconds, expected, errors = out.measured, out.seconds, out.expected, out.errors
        self.db.wait_stored(expected, 180, alive=self.services.alive)
        cpu = cpu_seconds(self.gateway_pid) - cpu0
        visible = self.db.visible_after_ms()
        stored_s = self.db.last_commit_epoch() - out.started_epoch
        row = Row(
            mode=mode,
            offered=offered,
            readings=measured,
            seconds=seconds,
            acked_per_s=measured / seconds if seconds else 0.0,
            stored_per_s=expected / stored_s if stored_s > 0 else 0.0,
            p50_ms=percentile(visible, 0.5),
            p99_ms=percentile(visible, 0.99),
            max_ms=max(visible),
            gateway_cpu_us=cpu / expected * 1e6 if expected else 0.0,
            loader_cpu_us=own / expected * 1e6 if expected else 0.0,
            errors=errors,
        )
        say(
            f"{mode} ({offered}): {row.readings:,} readings in {row.seconds:.1f} s = "
            f"{row.acked_per_s:,.0f}/s acknowledged, {row.stored_per_s:,.0f}/s stored; "
            f"visible p50 {row.p50_ms:.0f} ms, "
            f"p99 {row.p99_ms:.0f} ms; CPU/reading: gateway {row.gateway_cpu_us:.0f} us, "
            f"loader {row.loader_cpu_us:.0f} us; {errors} errors"
        )
        return row

    def ocpp(self, protocol: str, charge_points: int, seconds: float, rate: float | None) -> Load:
        def load(base: datetime, prefix: str) -> Outcome:
            r = asyncio.run(
                ocpp_load(
                    self.ws_base, protocol, self.secret, charge_points, seconds, base, f"cp{prefix}", rate
                )
            )
            for e in r.errors[:3]:
                say(f"  {protocol} error: {e}")
            # stored/s counts from the first MeterValues: the set-up (connect, boot, start) is before it
            return Outcome(r.measured_readings, r.seconds, r.stored_expected, len(r.errors), r.started_epoch)

        return load

    def http(self, devices: int, batch: int, concurrency: int, seconds: float, rate: float | None) -> Load:
        url = f"{self.services.gateway_url}/v1/ingest"
        token = self.services.env["INGEST_TOKEN"]

        def load(base: datetime, prefix: str) -> Outcome:
            started = time.time()
            s = http_load(url, token, devices, batch, concurrency, seconds, base, f"m{prefix}", rate)
            say(f"  HTTP statuses {dict(s.statuses)}, request p50 {s.latency_ms(0.5):.0f} ms")
            return Outcome(s.accepted, s.seconds, s.accepted, s.rejected, started)

        return load


def run(args: argparse.Namespace) -> list[Row]:
    """Start everything, measure every mode, stop everything."""
    data = Path(tempfile.mkdtemp(prefix="ocpp-bench-"))
    stack = Stack(data)
    rows: list[Row] = []
    memory = PeakMemory()
    memory.start()
    sink = (data / "services.log").open("w")
    try:
        say(f"starting Kafka and PostgreSQL in {data}")
        stack.start()
        env = provision(stack.database_url, stack.kafka_env(), data / "secrets.json", 12)
        env["LOG_LEVEL"] = "WARNING"
        db = BenchDatabase(stack.database_url)
        db.enable_commit_timestamps(stack)
        services = PipelineServices(env | OCPP_KNOBS, 1, sink, memory)
        try:
            say("starting the gateway and one consumer")
            services.start()
            services.warm_up(db, BenchConfig(devices=args.charge_points, batch_size=500, warmup_s=0.0))
            bench = Bench(db, services, env["AUTH_SECRET"])
            n, secs = args.charge_points, args.seconds
            for protocol in args.protocols:
                label = "OCPP 1.6J" if protocol == "ocpp1.6" else "OCPP 2.0.1"
                rows.append(
                    bench.measure(
                        f"{label} MeterValues",
                        f"{n} charge points, flat out",
                        bench.ocpp(protocol, n, secs, None),
                    )
                )
            if args.ocpp_only:
                return rows
            c = args.http_concurrency
            rows.append(
                bench.measure(
                    "HTTP single readings", f"{n} meters, {c} in flight", bench.http(n, 1, c, secs, None)
                )
            )
            b = args.http_batch
            rows.append(
                bench.measure(
                    f"HTTP batches of {b}", f"{n} meters, 8 in flight", bench.http(n, b, 8, secs, None)
                )
            )
            rate = args.latency_rate or round(rows[0].acked_per_s / 2, -1)
            first = args.protocols[0]
            label = "OCPP 1.6J" if first == "ocpp1.6" else "OCPP 2.0.1"
            rows.append(
                bench.measure(
                    f"{label} MeterValues", f"paced {rate:,.0f}/s", bench.ocpp(first, n, secs, rate)
                )
            )
            rows.append(
                bench.measure("HTTP single readings", f"paced {rate:,.0f}/s", bench.http(n, 1, c, secs, rate))
            )
        finally:
            services.stop()
    finally:
        memory.close()
        sink.close()
        say("stopping Kafka and PostgreSQL")
        stack.stop()
        shutil.rmtree(data, ignore_errors=True)
    return rows


def table(rows: list[Row]) -> str:
    """The figures as a Markdown table."""
    head = (
        "| mode | load | readings | acknowledged/s | stored/s | visible p50 ms | p99 ms | max ms "
        "| gateway CPU us/reading | loader CPU us/reading | errors |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [
        f"| {r.mode} | {r.offered} | {r.readings:,} | {r.acked_per_s:,.0f} | {r.stored_per_s:,.0f} | "
        f"{r.p50_ms:,.0f} | {r.p99_ms:,.0f} | {r.max_ms:,.0f} | {r.gateway_cpu_us:,.0f} | "
        f"{r.loader_cpu_us:,.0f} | {r.errors} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ocpp", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--charge-points", type=int, default=200, help="charge points (and HTTP meters)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each measured run")
    parser.add_argument(
        "--protocols", nargs="+", choices=("ocpp1.6", "ocpp2.0.1"), default=["ocpp1.6", "ocpp2.0.1"]
    )
    parser.add_argument("--http-concurrency", type=int, default=8, help="single-reading requests in flight")
    parser.add_argument("--http-batch", type=int, default=500, help="readings per batched request")
    parser.add_argument(
        "--latency-rate",
        type=float,
        help="readings/s of the paced runs (default: half the first OCPP maximum)",
    )
    parser.add_argument("--ocpp-only", action="store_true", help="only the flat-out OCPP runs")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    rows = run(args)
    print("\n" + table(rows))
    print(f"\ncommand: .venv/bin/python -m bench.ocpp {' '.join(sys.argv[1:])}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 1 if any(r.errors for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
