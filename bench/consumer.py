"""Consumer throughput on its own: pre-loaded topics to stored rows, per replica.

Starts a private Kafka + PostgreSQL (devstack, in a temporary folder), produces N
readings of a realistic fleet straight into the topics (encoded as the gateway does),
then starts R consumer replicas of a fresh group whose stored offsets sit just before
that data, and waits for the commit that stores the last reading. Throughput is N over
the time from the replicas' start to that commit; "steady" leaves out start-up and the
group join (first to last commit).

    .venv/bin/python -m bench.consumer --readings 200000 --replicas 1 2
    .venv/bin/python -m bench.consumer --readings 200000 --replicas 1 2 3 --kafka-brokers 3

Each run uses new device ids, so every reading is really inserted (no duplicates).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from bench.cpu import tree_cpu_seconds
from common.kafka import KafkaAccess
from devstack import Stack, free_port
from energy_ingest.procs import ServiceProcess
from energy_ingest.provision import provision
from energy_ingest.topics import end_offsets
from schemas import MeterReading, VehicleReading, device_id_of, encode_kafka_value, topic_for

FLEET = 10_000  # meters, and as many vehicles, each reporting once a minute
Reading = MeterReading | VehicleReading


@dataclass
class Result:
    """One run: R replicas draining N readings."""

    replicas: int
    readings: int
    wall_s: float
    steady_s: float
    batches: int
    # CPU microseconds per reading from the first commit seen to the last, per process kind.
    cpu_us: dict[str, float]
    load: tuple[float, float]  # 1-minute load average at the run's start and end
    produce_rate: float  # the preload: readings/s produced (acks=all) by one aiokafka producer

    def row(self) -> str:
        rate = self.readings / self.wall_s
        # Between the first and last commit; undefined when everything went in one batch.
        steady = f"{self.readings / self.steady_s:>10,.0f}" if self.steady_s > 0 else f"{'-':>10}"
        per_batch = self.readings / max(1, self.batches)
        return (
            f"{self.replicas:>8} {self.readings:>9,} {self.wall_s:>7.1f} {rate:>11,.0f} "
            f"{rate / self.replicas:>12,.0f} {steady} {self.batches:>8} {per_batch:>10,.0f}"
            + "".join(f" {self.cpu_us[k]:>9.1f}" for k in CPU_KINDS)
            + f" {self.load[0]:>5.2f}>{self.load[1]:<5.2f} {self.produce_rate:>10,.0f}"
        )


CPU_KINDS = ("consumer", "postgres", "kafka")
HEADER = (
    f"{'replicas':>8} {'readings':>9} {'wall_s':>7} {'readings/s':>11} {'per replica':>12} "
    f"{'steady/s':>10} {'batches':>8} {'per batch':>10}"
    + "".join(f" {k[:5] + ' us':>9}" for k in CPU_KINDS)
    + f" {'load':>11} {'produced/s':>10}"
)


def cpu_by_kind(consumers: list[int], servers: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far of the consumer replicas and of the stack's servers (by pid tree)."""
    out = {"consumer": sum(tree_cpu_seconds(pid) for pid in consumers)}
    for kind, pids in servers.items():
        out[kind] = sum(tree_cpu_seconds(pid) for pid in pids)
    return out


def fleet_readings(n: int, run: int, rng: random.Random) -> list[Reading]:
    """``n`` readings: whole fleet minutes, oldest first, meters and vehicles alike."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=n // (2 * FLEET) + 2)
    out: list[Reading] = []
    for minute in range(n // (2 * FLEET) + 1):
        ts = start + timedelta(minutes=minute)
        for d in range(FLEET):
            out.append(
                MeterReading(
                    type="meter",
                    meterId=f"b{run}-m{d}",
                    kwhConsumedAc=round(rng.uniform(0, 1.2), 3),
                    voltage=round(rng.uniform(225, 245), 1),
                    timestamp=ts,
                )
            )
            out.append(
                VehicleReading(
                    type="vehicle",
                    vehicleId=f"b{run}-v{d}",
                    soc=round(rng.uniform(5, 100), 1),
                    kwhDeliveredDc=round(rng.uniform(0, 1.0), 3),
                    batteryTemp=round(rng.uniform(15, 45), 1),
                    timestamp=ts,
                )
            )
    return out[:n]


async def preload(kafka: KafkaAccess, readings: list[Reading]) -> None:
    """Produce the readings (acks=all), 5,000 in flight at a time."""
    producer = AIOKafkaProducer(
        **kafka.aiokafka_kwargs(), acks="all", linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    try:
        received = int(time.time() * 1000)
        for i in range(0, len(readings), 5000):
            futures = [
                await producer.send(
                    topic_for(r.type), encode_kafka_value(r, received), key=device_id_of(r).encode()
                )
                for r in readings[i : i + 5000]
            ]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()


def commits(admin_url: str, group: str) -> tuple[int, float, float]:
    """(sum of the group's stored offsets, first and last commit as epoch seconds)."""
    with psycopg.connect(admin_url) as db:
        row = db.execute(
            "SELECT coalesce(sum(next_offset), 0), coalesce(extract(epoch FROM min(updated_at)), 0),"
            " coalesce(extract(epoch FROM max(updated_at)), 0) FROM consumer_offsets WHERE group_id = %s",
            (group,),
        ).fetchone()
    assert row is not None
    return int(row[0]), float(row[1]), float(row[2])


def batches(port: int) -> int:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(
        int(s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "consumer_batch_messages_count"
    )


def run_once(
    env: dict[str, str],
    servers: dict[str, list[int]],
    replicas: int,
    n: int,
    run: int,
    timeout: float,
) -> Result:
    kafka, admin = KafkaAccess.admin_from(env), env["DATABASE_URL"]
    group = f"energy-ingest-bench-{run}"  # the consumer principal uses groups of this prefix
    start_at = asyncio.run(end_offsets(kafka))
    with psycopg.connect(admin, autocommit=True) as db:
        db.cursor().executemany(
            "INSERT INTO consumer_offsets (group_id, topic, partition, next_offset) VALUES (%s, %s, %s, %s)",
            [(group, tp.topic, tp.partition, off) for tp, off in start_at.items()],
        )
    print(f"[bench] run {run}: producing {n:,} readings", flush=True)
    readings = fleet_readings(n, run, random.Random(run))  # noqa: S311 - test data
    produce_start = time.perf_counter()
    asyncio.run(preload(kafka, readings))
    produce_rate = n / (time.perf_counter() - produce_start)
    target = sum(start_at.values()) + n
    print(f"[bench] run {run}: {replicas} replica(s) draining", flush=True)
    load_start = os.getloadavg()[0]
    ports = [free_port() for _ in range(replicas)]
    started = time.time()
    procs = [
        ServiceProcess(
            f"consumer-{i}",
            ["consumer"],
            env
            | {
                "CONSUMER_GROUP": group,
                "CONSUMER_INSTANCE_ID": f"bench-{run}-{i}",
                "CONSUMER_METRICS_PORT": str(port),
                "LOG_LEVEL": "WARNING",
            },
        ).start()
        for i, port in enumerate(ports)
    ]
    try:
        deadline = time.monotonic() + timeout
        base = sum(start_at.values())
        first_seen: tuple[int, dict[str, float]] | None = None  # (stored offsets, CPU) at 1st commit
        while (done := commits(admin, group))[0] < target:
            if first_seen is None and done[0] > base:
                first_seen = (done[0], cpu_by_kind([p.pid for p in procs], servers))
            dead = [p for p in procs if not p.alive()]
            if dead or time.monotonic() > deadline:
                reason = dead[0].tail() if dead else f"not done within {timeout:.0f} s"
                raise SystemExit(f"run {run} failed at {done[0] - base} of {n}: {reason}")
            time.sleep(0.2)
        cpu_end = cpu_by_kind([p.pid for p in procs], servers)
        total_batches = sum(batches(p) for p in ports)
    finally:
        for p in procs:
            p.stop()
    _, first, last = done
    # Everything went in one batch before the first poll: CPU from the replicas' start.
    seen, cpu_start = first_seen or (base, dict.fromkeys(cpu_end, 0.0))
    timed = max(1, target - seen)
    cpu_us = {k: (cpu_end[k] - cpu_start.get(k, 0.0)) * 1e6 / timed for k in CPU_KINDS}
    load = (load_start, os.getloadavg()[0])
    return Result(replicas, n, last - started, last - first, total_batches, cpu_us, load, produce_rate)


def main() -> int:
    parser = argparse.ArgumentParser(description="Consumer throughput, pre-loaded topics to stored rows")
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run before giving up")
    parser.add_argument(
        "--kafka-brokers",
        type=int,
        choices=(1, 3),
        default=1,
        help="1 broker, or a 3-node cluster (topics: 3 replicas, min.insync.replicas=2)",
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="consumer-bench-") as tmp,
        Stack(data_dir=Path(tmp), kafka_brokers=args.kafka_brokers) as stack,
    ):
        env = provision(stack.database_url, stack.kafka_env(), Path(tmp) / "secrets.json", args.partitions)
        brokers = list(stack.cluster.nodes.values()) if args.kafka_brokers == 3 else [stack.kafka]
        servers = {"postgres": [stack.postgres.pid or 0], "kafka": [b.pid or 0 for b in brokers]}
        results = [
            run_once(env, servers, r, args.readings, i + 1, args.timeout) for i, r in enumerate(args.replicas)
        ]
    print(f"\ncommand: .venv/bin/python -m bench.consumer {' '.join(sys.argv[1:])}")
    print(
        f"topics: {args.partitions} partitions each on {args.kafka_brokers} broker(s); "
        f"fleet: {FLEET:,} meters + {FLEET:,} vehicles"
    )
    print("CPU: us per reading from the first commit seen to the last (pid trees); load: 1-min, start>end")
    print(HEADER)
    for r in results:
        print(r.row())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
