"""The merge's cost per reading as the batch and the fleet grow: ``BatchWriter.write`` timed alone.

Starts a private PostgreSQL (devstack, no Kafka), migrates it and writes pre-built
batches with the consumer's own :class:`BatchWriter` (the consumer's login, one
transaction per batch: COPY to staging, history insert, status upsert, rollups), as the
bench's limit mode does. A fleet of D devices (half meters, half vehicles) reports once a
minute; batches of B readings take that stream in order, so a batch holds min(B, D)
devices. Per cell the first batch is an untimed warm-up (it creates the status rows);
then wall time, CPU (this process; the PostgreSQL server tree) and WAL bytes per reading.

    .venv/bin/python -m bench.merge_cost --batch-sizes 1000 5000 20000 --devices 100 2000 20000

``--meters register`` makes the meters report their lifetime register instead of the
interval's energy (the register merge, docs/registers.md); ``--late F`` then holds back a
share F of the register readings to the next batch, so that each arrives after its
successor and the merge corrects the successor's derived energy.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from bench.cpu import tree_cpu_seconds
from bench.database import BenchDatabase
from consumer.batch import Batch
from consumer.writer import BatchWriter
from devstack import free_port
from devstack.postgres import PostgresServer
from energy_ingest.logins import ServiceRole, ensure_login
from energy_ingest.migrate import migrate


@dataclass(frozen=True, slots=True)
class Cell:
    """One batch size and fleet size, measured ``len(wall_us)`` times."""

    batch: int
    devices: int
    readings: int
    wall_us: list[float]
    loader_cpu_us: list[float]
    postgres_cpu_us: list[float]
    wal_bytes: list[float]

    def row(self) -> str:
        def fig(values: list[float]) -> str:
            return f"{statistics.median(values):7.1f} ({min(values):.1f}-{max(values):.1f})"

        per_batch = min(self.batch, self.devices)
        return (
            f"{self.batch:>7,} {self.devices:>8,} {per_batch:>11,} {self.readings:>9,} "
            f"{fig(self.wall_us):>22} {fig(self.postgres_cpu_us):>22} {fig(self.loader_cpu_us):>22}"
            f" {statistics.median(self.wal_bytes):>9.0f}"
        )


HEADER = (
    f"{'batch':>7} {'devices':>8} {'dev/batch':>11} {'timed':>9} "
    f"{'wall us/reading':>22} {'postgres cpu us/rd':>22} {'loader cpu us/rd':>22} {'WAL B/rd':>9}"
)
WAL_LSN = sql.SQL("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")


def wal_position(admin_url: str) -> int:
    """Bytes of WAL written since the server's first (bench-only SQL, like bench/database.py)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute(WAL_LSN).fetchone()
    return int(str(row[0])) if row else 0


def build_batches(
    batch: int, devices: int, count: int, start: datetime, registers: bool = False, late: float = 0.0
) -> list[Batch]:
    """``count`` batches of ``batch`` readings of a ``devices`` fleet, minute after minute.

    ``registers``: meters send a rising register (minute * 0.5 kWh + a wobble) instead of the
    interval energy; ``late``: that share of register readings moves to the next batch."""
    out: list[Batch] = []
    received = datetime.now(UTC)
    rng = random.Random(7)  # noqa: S311 (which readings are late, not a secret)
    held: list[tuple[str, datetime, float, float | None, datetime | None, int, int]] = []
    for b in range(count):
        current = Batch(generation=0)
        current.registers.extend(held)
        held = []
        for i in range(b * batch, (b + 1) * batch):
            minute, device = divmod(i, devices)
            ts = start + timedelta(minutes=minute)
            current.days.add(ts.date())
            value = (i % 997) / 997
            if device % 2 == 1:
                current.vehicles.append((f"mc-v{device}", ts, 50 + value, value, 20 + value, received, 0, i))
            elif not registers:
                current.meters.append((f"mc-m{device}", ts, value, 230.0 + value, received, 0, i))
            else:
                row = (f"mc-m{device}", ts, minute * 0.5 + value, 230.0 + value, received, 0, i)
                (held if b + 1 < count and rng.random() < late else current.registers).append(row)
        out.append(current)
    return out


async def _write(writer_url: str, batches: list[Batch], postgres_pid: int | None) -> tuple[float, ...]:
    """Write the warm-up batch, then time the rest: (wall, loader CPU, PostgreSQL CPU) seconds."""
    writer = BatchWriter(writer_url, group_id="bench-merge-cost")
    try:
        await writer.ensure_partitions(set().union(*(b.days for b in batches)))
        await writer.write(batches[0])
        pg0, cpu0, t0 = tree_cpu_seconds(postgres_pid), time.process_time(), time.perf_counter()
        for batch in batches[1:]:
            await writer.write(batch)
        wall = time.perf_counter() - t0
        return wall, time.process_time() - cpu0, tree_cpu_seconds(postgres_pid) - pg0
    finally:
        await writer.close()


def measure(
    db: BenchDatabase, writer_url: str, pid: int | None, batch: int, devices: int, args: argparse.Namespace
) -> Cell:
    """One cell: ``args.repetitions`` runs into emptied tables."""
    count = 1 + max(args.min_batches, args.readings // batch)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=3)
    batches = build_batches(batch, devices, count, start, args.meters == "register", args.late)
    timed = batch * (count - 1)
    wall: list[float] = []
    loader: list[float] = []
    postgres: list[float] = []
    wal: list[float] = []
    for _ in range(args.repetitions):
        db.truncate()
        lsn = wal_position(db.url)
        w, c, p = asyncio.run(_write(writer_url, batches, pid))
        # The warm-up batch's WAL is in this too: per reading over every batch written.
        wal.append((wal_position(db.url) - lsn) / (batch * count))
        wall.append(w * 1e6 / timed)
        loader.append(c * 1e6 / timed)
        postgres.append(p * 1e6 / timed)
    return Cell(batch, devices, timed, wall, loader, postgres, wal)


# Bench-only SQL (owner's rights, no application path), as in bench/database.py.
FOOTPRINT = sql.SQL(
    "SELECT (SELECT count(*) FROM meter_telemetry) + (SELECT count(*) FROM vehicle_telemetry),"
    " (SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits"
    "  WHERE inhparent IN ('meter_telemetry'::regclass, 'vehicle_telemetry'::regclass))"
)


def footprint(admin_url: str) -> str:
    """History rows now stored and their bytes on disk (heap, indexes, TOAST) per row."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute(FOOTPRINT).fetchone()
    rows, size = (int(str(row[0])), int(str(row[1]))) if row else (0, 0)
    return f"history after the last run: {rows:,} rows, {size / max(1, rows):.0f} bytes per row on disk"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--devices", type=int, nargs="+", default=[100, 2000, 20000], help="fleet sizes")
    parser.add_argument("--readings", type=int, default=100_000, help="timed readings per run (about)")
    parser.add_argument("--min-batches", type=int, default=3, help="timed batches per run, at least")
    parser.add_argument("--repetitions", type=int, default=3, help="runs per cell; median (min-max)")
    parser.add_argument(
        "--meters", choices=["interval", "register"], default="interval", help="what the meters report"
    )
    parser.add_argument("--late", type=float, default=0.0, help="share of register readings one batch late")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="merge-cost-") as tmp:
        server = PostgresServer(Path(tmp) / "postgres", free_port())
        server.start()
        try:
            migrate(server.database_url)
            writer_url = ensure_login(
                server.database_url, "energy_consumer", secrets.token_urlsafe(16), ServiceRole.WRITER
            )
            db = BenchDatabase(server.database_url)
            cells: list[Cell] = []
            for batch in args.batch_sizes:
                for devices in args.devices:
                    cells.append(measure(db, writer_url, server.pid, batch, devices, args))
                    print(cells[-1].row(), flush=True)
            size = footprint(server.database_url)
        finally:
            server.stop()
    print(f"\ncommand: .venv/bin/python -m bench.merge_cost {' '.join(sys.argv[1:])}")
    print("median (min-max) of the runs; wall includes the loader's COPY encoding in this process")
    print(HEADER)
    for cell in cells:
        print(cell.row())
    print(size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
