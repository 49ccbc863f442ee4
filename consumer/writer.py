"""The batch writer: one PostgreSQL transaction per batch.

In order: COPY the rows into session-local staging tables, merge them into history
(skipping readings already stored), move the hot status forward, add to the hourly
rollups and their running totals, record the rejects, and move each partition's stored
offset from the value the batch started at to the offset after it. If any partition's
stored offset was moved by another owner, the whole transaction rolls back
(:class:`FencedError`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import psycopg
from aiokafka.structs import TopicPartition

from consumer.batch import Batch
from consumer.errors import DatabaseRejectedError, FencedError, RecoverableError, StalePartition
from consumer.sessions import store_sessions
from sql import query

METER_TYPES = ["text", "timestamptz", "float8", "float8", "timestamptz", "int4", "int8"]
VEHICLE_TYPES = ["text", "timestamptz", "float8", "float8", "float8", "timestamptz", "int4", "int8"]

# Connection trouble, rollbacks (deadlock, serialization), resources, operator
# intervention (shutdown, statement timeout), lock timeout, idle-in-transaction timeout,
# I/O error. (A partition created by a racing replica is no error at all since
# migration 0007, kept by 0009: the partition function treats duplicate_table as success.)
RETRYABLE_CLASSES = ("08", "40", "53", "57")
RETRYABLE_SQLSTATES = {"55P03", "25P03", "58030"}

# At most this many partitions (each with its index) are created per transaction: a
# batch spread over many months takes a few short transactions, never one whose locks
# could exhaust the lock table (sql/migrations/0009_bounded_partitions.sql).
PARTITIONS_PER_TRANSACTION = 16

Conn = psycopg.AsyncConnection[tuple[object, ...]]
Cursor = psycopg.AsyncCursor[tuple[object, ...]]


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one committed batch stored."""

    meters: int
    vehicles: int
    rejects: int
    sessions: int = 0  # charging sessions the batch's session events touched


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """Per-session settings of the writer's connection."""

    application_name: str = "energy-consumer"
    statement_timeout_ms: int = 30_000
    idle_in_transaction_timeout_ms: int = 10_000

    def libpq_options(self) -> str:
        return (
            f"-c statement_timeout={self.statement_timeout_ms} "
            f"-c idle_in_transaction_session_timeout={self.idle_in_transaction_timeout_ms}"
        )


def is_retryable(exc: BaseException) -> bool:
    """Whether a database error is worth retrying with the same batch."""
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return True
    if not isinstance(exc, psycopg.Error) or exc.sqlstate is None:
        return False
    return exc.sqlstate.startswith(RETRYABLE_CLASSES) or exc.sqlstate in RETRYABLE_SQLSTATES


def is_missing_partition(exc: BaseException) -> bool:
    """A row for a day whose partition is gone (dropped by retention meanwhile)."""
    return isinstance(exc, psycopg.errors.CheckViolation) and (exc.diag.message_primary or "").startswith(
        "no partition of relation"
    )


async def _stage(cur: Cursor, kind: str, types: list[str], rows: Sequence[Sequence[object]]) -> None:
    """COPY ``rows`` into the batch's staging table of ``kind`` (``copy_stage_<kind>.sql``)."""
    async with cur.copy(query(f"copy_stage_{kind}")) as copy:
        copy.set_types(types)
        await _copy_rows(copy, rows)


async def merge_staged(cur: Cursor, kind: str) -> int:
    """Merge the staged ``kind`` rows (``merge_<kind>.sql``), then add each late hour it
    returns to the device's later hourly rows' running totals (migration 0017). Returns
    the number of readings inserted."""
    await cur.execute(query(f"merge_{kind}"))
    inserted = 0
    late = []
    for count, device_id, hour, kwh, samples, *temp in await cur.fetchall():  # temp: vehicles only
        if device_id is None:
            inserted = int(str(count))
        else:
            late.append(_late_hour(device_id, hour, kwh, samples, *temp))
    await _add_late_hours(cur, kind, late)
    return inserted


def _late_hour(
    device_id: object, hour: object, kwh: object, samples: object, temp: object = None
) -> dict[str, object]:
    return {"device_id": device_id, "hour": hour, "kwh": kwh, "samples": samples, "temp": temp}


async def _add_late_hours(cur: Cursor, kind: str, late: list[dict[str, object]]) -> None:
    """``rollup_through_<kind>.sql`` for each late hour a merge returned: rare (a reading
    before its device's last stored hour, or the earlier hour of a batch that spans two)."""
    if late:
        await cur.executemany(query(f"rollup_through_{kind}"), late)


async def _copy_rows(copy: psycopg.AsyncCopy, rows: Sequence[Sequence[object]]) -> None:
    """``copy.write_row`` for every row, without a coroutine per row: the copy's own binary
    formatter fills its buffer and hands back a block of about 32 KiB when it is full (the
    signature with the first row; the trailer at the end of the block, as in row mode)."""
    format_row = copy.formatter.write_row
    for row in rows:
        if data := format_row(row):
            await copy.write(data)


class BatchWriter:
    """Owns one connection as a member of ``energy_writer``."""

    def __init__(
        self,
        database_url: str,
        group_id: str,
        options: SessionOptions | None = None,
        partition_day_months: int = 3,
    ) -> None:
        self._url = database_url
        self._group_id = group_id
        self._options = options or SessionOptions()
        self._day_months = partition_day_months
        self._conn: Conn | None = None
        self._known_days: set[date] = set()

    async def _connection(self) -> Conn:
        if self._conn is None or self._conn.closed or self._conn.broken:
            conn = await psycopg.AsyncConnection.connect(
                self._url,
                connect_timeout=5,
                application_name=self._options.application_name,
                options=self._options.libpq_options(),
                keepalives=1,
                keepalives_idle=10,
                keepalives_interval=5,
                keepalives_count=3,
            )
            await conn.execute(query("stage_tables"))
            await conn.commit()
            self._conn = conn
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _translate(self, exc: psycopg.Error) -> RecoverableError | DatabaseRejectedError:
        """Map a driver error to a retry or a halt; drop a connection that is no use any more."""
        if self._conn is not None and (self._conn.broken or isinstance(exc, psycopg.OperationalError)):
            await self.close()
        message = f"{exc.__class__.__name__}: {exc}".strip()
        if is_missing_partition(exc):
            self._known_days.clear()
            return RecoverableError(f"database: {message}")
        if is_retryable(exc):
            return RecoverableError(f"database: {message}")
        return DatabaseRejectedError(exc.sqlstate, message)

    async def load_offsets(self, tps: set[TopicPartition]) -> dict[TopicPartition, int]:
        """The stored next offsets of these partitions (absent: never stored)."""
        try:
            conn = await self._connection()
            async with conn.transaction(), conn.cursor() as cur:
                stored = await self._read_offsets(cur, tps)
        except psycopg.Error as exc:
            raise await self._translate(exc) from exc
        return stored

    async def _read_offsets(self, cur: Cursor, tps: set[TopicPartition]) -> dict[TopicPartition, int]:
        await cur.execute(
            query("load_offsets"),
            {"group_id": self._group_id, "topics": sorted({tp.topic for tp in tps})},
        )
        rows = await cur.fetchall()
        stored = {TopicPartition(str(t), int(str(p))): int(str(o)) for t, p, o in rows}
        return {tp: off for tp, off in stored.items() if tp in tps}

    async def ensure_partitions(self, days: set[date]) -> None:
        """Create the partitions missing for ``days`` (a day's, or an older month's), in short
        transactions of their own that create at most ``PARTITIONS_PER_TRANSACTION`` each."""
        missing = days - self._known_days
        if not missing:
            return
        params = {
            "days": sorted(missing),
            "day_months": self._day_months,
            "max_new": PARTITIONS_PER_TRANSACTION,
        }
        try:
            conn = await self._connection()
            created = PARTITIONS_PER_TRANSACTION
            while created >= PARTITIONS_PER_TRANSACTION:  # fewer: every day is covered
                async with conn.transaction():
                    cur = await conn.execute(query("ensure_partitions"), params)
                    row = await cur.fetchone()
                created = int(str(row[0])) if row else 0
        except psycopg.Error as exc:
            raise await self._translate(exc) from exc
        self._known_days |= missing

    async def write(self, batch: Batch) -> WriteResult:
        """Store the batch and its offsets atomically."""
        await self.ensure_partitions(batch.days)
        try:
            conn = await self._connection()
            async with conn.transaction():
                meters = vehicles = sessions = 0
                async with conn.cursor() as cur:
                    if batch.meters:
                        meters = await self._merge(cur, "meter", METER_TYPES, batch.meters)
                    if batch.registers:  # statements of their own: interval-only batches never pay for them
                        meters += await self._merge_registers(cur, batch.registers)
                    if batch.vehicles:
                        vehicles = await self._merge(cur, "vehicle", VEHICLE_TYPES, batch.vehicles)
                    if batch.sessions:
                        sessions = await store_sessions(cur, batch.sessions)
                    if batch.rejects:
                        await cur.executemany(
                            query("insert_rejects"),
                            [
                                (r.topic, r.partition, r.offset, r.key, r.raw, r.reason, r.detail)
                                for r in batch.rejects
                            ],
                        )
                    await self._store_offsets(cur, batch)
        except psycopg.Error as exc:
            raise await self._translate(exc) from exc
        return WriteResult(meters, vehicles, len(batch.rejects), sessions)

    async def _merge(self, cur: Cursor, kind: str, types: list[str], rows: Sequence[Sequence[object]]) -> int:
        await _stage(cur, kind, types, rows)
        return await merge_staged(cur, kind)

    async def _merge_registers(self, cur: Cursor, rows: Sequence[Sequence[object]]) -> int:
        """Register readings (docs/registers.md): merge, then correct the stored successors of
        late readings row by row (each UPDATE planned for its one day partition)."""
        await _stage(cur, "meter_register", METER_TYPES, rows)
        await cur.execute(query("lock_register_meters"))  # one merge per meter at a time
        await cur.execute(query("merge_meter_register"))
        inserted = 0
        fixes = []
        late = []
        for count, fix, meter_id, ts, kwh, samples in await cur.fetchall():
            if fix is None:
                inserted = int(str(count))
            elif fix == "successor":
                fixes.append({"meter_id": meter_id, "ts": ts, "kwh": kwh})
            else:
                late.append(_late_hour(meter_id, ts, kwh, samples))
        if fixes:
            await cur.executemany(query("fix_register_successor"), fixes)
        await _add_late_hours(cur, "meter", late)
        return inserted

    async def _store_offsets(self, cur: Cursor, batch: Batch) -> None:
        """Every partition's offset in one statement (``store_offsets.sql``); a partition whose
        stored offset another owner moved meanwhile makes the batch stale."""
        tps = sorted(batch.next_offsets)
        if not tps:
            return
        await cur.execute(
            query("store_offsets"),
            {
                "group_id": self._group_id,
                "topics": [tp.topic for tp in tps],
                "partitions": [tp.partition for tp in tps],
                "next_offsets": [batch.next_offsets[tp] for tp in tps],
                "expected": [batch.expected.get(tp) for tp in tps],
            },
        )
        moved = {TopicPartition(str(topic), int(str(partition))) for topic, partition in await cur.fetchall()}
        stale = [tp for tp in tps if tp not in moved]
        if stale:
            actual = await self._read_offsets(cur, set(stale))
            raise FencedError(
                [
                    StalePartition(tp.topic, tp.partition, batch.expected.get(tp), actual.get(tp))
                    for tp in stale
                ]
            )
