"""Gateway throughput and latency through one uvicorn worker into a real Kafka broker.

Starts its own Kafka + PostgreSQL (devstack, in a temporary folder), one gateway process
(one worker, authentication on, default limits), and drives it from a separate load
process (bench.http_client, N concurrent keep-alive connections) in two scenarios:

- ``single``: one reading per request;
- ``batch``: 1,000 readings per request (JSON array).

Every 202 is checked against Kafka: the topics' end offsets must grow by at least the
number of acknowledged readings. Prints one table row per scenario (and per producer
configuration with ``--sweep``). Bounded in time: about 1 minute, 3.5 with ``--sweep``.

    .venv/bin/python -m bench.gateway             # the default producer settings
    .venv/bin/python -m bench.gateway --sweep     # compare producer settings
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SCENARIOS = {"single": 1, "batch": 1000}
WARMUP_S = 10.0


@dataclass(frozen=True)
class ProducerConfig:
    """The producer knobs under test (gateway environment variables)."""

    linger_ms: int = 5
    max_batch_bytes: int = 512 * 1024
    compression: str = "none"

    @property
    def label(self) -> str:
        return f"linger={self.linger_ms}ms batch={self.max_batch_bytes // 1024}KiB {self.compression}"

    def env(self) -> dict[str, str]:
        return {
            "KAFKA_LINGER_MS": str(self.linger_ms),
            "KAFKA_MAX_BATCH_BYTES": str(self.max_batch_bytes),
            "KAFKA_COMPRESSION": self.compression,
        }


SWEEP = [
    ProducerConfig(linger_ms=0),
    ProducerConfig(linger_ms=5),
    ProducerConfig(linger_ms=20),
    ProducerConfig(linger_ms=5, max_batch_bytes=64 * 1024),
    ProducerConfig(linger_ms=5, compression="gzip"),
]


# ---------------------------------------------------------------- load process


def request_bodies(size: int, count: int, devices: int) -> list[bytes]:
    """``count`` request bodies of ``size`` readings, spread over ``devices`` devices."""
    import orjson

    base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=1)
    out, n = [], 0
    for _ in range(count):
        readings = []
        for _ in range(size):
            d, ts = n % devices, (base + timedelta(seconds=n // devices)).isoformat().replace("+00:00", "Z")
            if d % 2:
                readings.append(
                    {
                        "type": "meter",
                        "meterId": f"bm-m-{d}",
                        "kwhConsumedAc": 0.21,
                        "voltage": 239.5,
                        "timestamp": ts,
                    }
                )
            else:
                readings.append(
                    {"type": "vehicle", "vehicleId": f"bm-v-{d}", "soc": 61.5, "kwhDeliveredDc": 0.18,
                     "batteryTemp": 31.2, "timestamp": ts}
                )  # fmt: skip
            n += 1
        out.append(orjson.dumps(readings[0] if size == 1 else readings))
    return out


async def _load(
    url: str, token: str, size: int, seconds: float, concurrency: int, warmup: float, gateway_pid: int
) -> dict[str, Any]:
    from bench.http_client import LeanClient, ProtocolError, render_post
    from energy_ingest.procs import cpu_seconds

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    requests = [
        render_post(url, "/v1/ingest", headers, body)
        for body in request_bodies(size, 4000 if size == 1 else 40, 20_000)
    ]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    counter = 0
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + seconds

    async def worker() -> None:
        nonlocal counter
        client = LeanClient(url)
        try:
            while (now := time.perf_counter()) < stop_at:
                request = requests[counter % len(requests)]
                counter += 1
                try:
                    async with asyncio.timeout(30):
                        status, _ = await client.send(request)
                    outcome = str(status)
                except (ProtocolError, OSError, TimeoutError) as exc:
                    outcome = type(exc).__name__
                if now >= measure_from:
                    latencies.append(time.perf_counter() - now)
                    statuses[outcome] = statuses.get(outcome, 0) + 1
        finally:
            client.close()

    load_cpu_start = 0.0

    async def cpu_at_start() -> float:
        nonlocal load_cpu_start
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        load_cpu_start = cpu_seconds(os.getpid())
        return cpu_seconds(gateway_pid)

    _, cpu_start = await asyncio.gather(
        asyncio.gather(*(worker() for _ in range(concurrency))), cpu_at_start()
    )
    gateway_cpu = cpu_seconds(gateway_pid) - cpu_start
    load_cpu = cpu_seconds(os.getpid()) - load_cpu_start
    elapsed = time.perf_counter() - measure_from
    latencies.sort()
    ok = statuses.get("202", 0)

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")
        )

    return {
        "requests": len(latencies),
        "ok": ok,
        "statuses": statuses,
        "readings": ok * size,
        "seconds": elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "gateway_cpu": gateway_cpu,
        "load_cpu": load_cpu,
    }


# ---------------------------------------------------------------- orchestration


def _run_scenario(url: str, token: str, name: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    concurrency = args.single_concurrency if name == "single" else args.batch_concurrency
    size, seconds = str(SCENARIOS[name]), str(args.seconds)
    cmd = [sys.executable, __file__, "_load", url, token, size, seconds, str(concurrency), str(pid)]
    cmd.append(str(args.warmup))
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=args.seconds + args.warmup + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"load process failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    result["concurrency"] = concurrency
    return result


def _bench_config(
    config: ProducerConfig, env: dict[str, str], args: argparse.Namespace
) -> list[dict[str, Any]]:
    from common.kafka import KafkaAccess
    from energy_ingest.procs import ServiceProcess, wait_http
    from energy_ingest.topics import end_offsets

    sink = open(os.devnull, "w") if not args.verbose else None  # noqa: SIM115
    gateway = ServiceProcess("gateway", ["gateway"], env | config.env(), sink=sink).start()
    rows = []
    try:
        wait_http(f"{env['GATEWAY_URL']}/readyz", 60, gateway)
        for name in args.scenarios:
            kafka = KafkaAccess.admin_from(env)
            before_offsets = sum(asyncio.run(end_offsets(kafka)).values())
            result = _run_scenario(env["GATEWAY_URL"], env["INGEST_TOKEN"], name, gateway.pid, args)
            stored = sum(asyncio.run(end_offsets(kafka)).values()) - before_offsets
            rows.append({"config": config.label, "scenario": name, "in_kafka": stored} | result)
    finally:
        gateway.stop()
        if sink is not None:
            sink.close()
    return rows


def _print_table(rows: list[dict[str, Any]], seconds: float, warmup: float) -> None:
    head = (
        f"{'producer config':34} {'scenario':8} {'conc':>4} {'requests':>9} {'req/s':>8} {'readings/s':>11} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'non-202':>7} {'gw CPU':>6} {'per core':>9} {'gw us/req':>9} "
        f"{'load':>5} {'in Kafka':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        non_ok = r["requests"] - r["ok"]
        if non_ok:
            print(f"  ({r['config']} {r['scenario']}: statuses {r['statuses']})", file=sys.stderr)
        kafka_ok = "yes" if r["in_kafka"] >= r["readings"] else f"NO {r['in_kafka']}"
        cpu = r["gateway_cpu"] / r["seconds"] if r["seconds"] else 0.0
        per_core = r["readings"] / r["gateway_cpu"] if r["gateway_cpu"] else 0.0
        per_request = r["gateway_cpu"] / r["requests"] * 1e6 if r["requests"] else 0.0
        load = r["load_cpu"] / r["seconds"] if r["seconds"] else 0.0
        print(
            f"{r['config']:34} {r['scenario']:8} {r['concurrency']:>4} {r['requests']:>9} "
            f"{r['ok'] / r['seconds']:>8.0f} {r['readings'] / r['seconds']:>11.0f} {r['p50_ms']:>7.1f} "
            f"{r['p99_ms']:>7.1f} {non_ok:>7} {cpu:>6.0%} {per_core:>9.0f} {per_request:>9.0f} "
            f"{load:>5.0%} {kafka_ok:>9}"
        )
    print(
        f"\n{seconds:g} s measured per row after {warmup:g} s of warm-up; 'gw CPU' is the gateway process's "
        "CPU share"
    )
    print("(100% = one core); 'per core' is readings per CPU-second of the gateway (what one worker does")
    print("with a core to itself); 'gw us/req' is the gateway's CPU microseconds per request; 'load' is")
    print("the load process's CPU share (near 100%: the load generator limits req/s, not the gateway);")
    print("'in Kafka' checks that the topics grew by every acknowledged reading.")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per scenario")
    parser.add_argument(
        "--warmup",
        type=float,
        default=WARMUP_S,
        help="unmeasured seconds of load before each scenario (the broker's JIT compiler warms up in "
        "the first few seconds; default: %(default)s)",
    )
    parser.add_argument("--single-concurrency", type=int, default=32)
    parser.add_argument("--batch-concurrency", type=int, default=4)
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--sweep", action="store_true", help="compare producer settings (8 s per row)")
    parser.add_argument("--linger-ms", type=int, default=ProducerConfig.linger_ms)
    parser.add_argument("--max-batch-bytes", type=int, default=ProducerConfig.max_batch_bytes)
    parser.add_argument("--compression", default=ProducerConfig.compression)
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--bootstrap", help="use this running Kafka instead of starting a devstack")
    parser.add_argument("--verbose", action="store_true", help="show the gateway's output")
    args = parser.parse_args()
    configs = (
        SWEEP if args.sweep else [ProducerConfig(args.linger_ms, args.max_batch_bytes, args.compression)]
    )
    if args.sweep:
        args.seconds = min(args.seconds, 8.0)

    from bench.kafka_env import gateway_as_admin, running_kafka
    from common.kafka import KafkaAccess
    from common.tokens import Scope, issue
    from devstack import Stack, free_port
    from energy_ingest.topics import create_topics

    def run_all(kafka_env: dict[str, str]) -> list[dict[str, Any]]:
        asyncio.run(create_topics(KafkaAccess.admin_from(kafka_env), args.partitions))
        secret = secrets.token_urlsafe(32)
        port = free_port()
        env = gateway_as_admin(kafka_env) | {
            "AUTH_SECRET": secret,
            "INGEST_TOKEN": issue(secret, Scope.FLEET, "bench"),
            "GATEWAY_PORT": str(port),
            "GATEWAY_URL": f"http://127.0.0.1:{port}",
            "LOG_LEVEL": "WARNING",
        }
        return [row for config in configs for row in _bench_config(config, env, args)]

    started = time.monotonic()
    if args.bootstrap:
        rows = run_all(running_kafka(args.bootstrap))
    else:
        with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp, Stack(Path(tmp)) as stack:
            rows = run_all(stack.kafka_env())
    print()
    _print_table(rows, args.seconds, args.warmup)
    print(f"total wall time {time.monotonic() - started:.0f} s; {os.cpu_count()} CPU cores shared by")
    print("Kafka, PostgreSQL, the gateway and the load process")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_load":
        url, token, size, seconds, concurrency, pid, warmup = sys.argv[2:9]
        import uvloop

        out = uvloop.run(
            _load(url, token, int(size), float(seconds), int(concurrency), float(warmup), int(pid))
        )
        print(json.dumps(out))
        sys.exit(0)
    sys.exit(main())
