"""The batch writer: one PostgreSQL transaction per batch.

In order: COPY the rows into session-local staging tables, merge them into history
(skipping readings already stored), move the hot status forward, add to the hourly
rollups, record the rejects, and move each partition's stored offset from the value
the batch started at to the offset after it. If any partition's stored offset was moved
by another owner, the whole transaction rolls back (:class:`FencedError`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import psycopg
from aiokafka.structs import TopicPartition

from consumer.batch import Batch
from consumer.errors import FencedError, RecoverableError, StalePartition
from sql import query

METER_TYPES = ["text", "timestamptz", "float8", "float8", "timestamptz", "int4", "int8"]
VEHICLE_TYPES = ["text", "timestamptz", "float8", "float8", "float8", "timestamptz", "int4", "int8"]

RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300"}


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one committed batch stored."""

    meters: int
    vehicles: int
    rejects: int


def is_retryable(exc: BaseException) -> bool:
    """Whether a database error is worth retrying with the same batch."""
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return True
    return isinstance(exc, psycopg.Error) and exc.sqlstate in RETRYABLE_SQLSTATES


class BatchWriter:
    """Owns one connection as a member of ``energy_writer``."""

    def __init__(self, database_url: str, group_id: str) -> None:
        self._url = database_url
        self._group_id = group_id
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self._known_days: set[date] = set()

    async def _connection(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            conn = await psycopg.AsyncConnection.connect(
                self._url, connect_timeout=5, application_name="energy-consumer"
            )
            await conn.execute(query("stage_tables"))
            await conn.commit()
            self._conn = conn
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _guard(self, exc: psycopg.Error) -> RecoverableError | psycopg.Error:
        if self._conn is not None and (self._conn.broken or isinstance(exc, psycopg.OperationalError)):
            await self.close()
        if is_retryable(exc):
            return RecoverableError(f"database: {exc.__class__.__name__}: {exc}".strip())
        return exc

    async def load_offsets(self, tps: set[TopicPartition]) -> dict[TopicPartition, int]:
        """The stored next offsets of these partitions (absent: never stored)."""
        try:
            conn = await self._connection()
            async with conn.transaction():
                cur = await conn.execute(
                    query("load_offsets"),
                    {"group_id": self._group_id, "topics": sorted({tp.topic for tp in tps})},
                )
                rows = await cur.fetchall()
        except psycopg.Error as exc:
            raise await self._guard(exc) from exc
        stored = {TopicPartition(str(t), int(str(p))): int(str(o)) for t, p, o in rows}
        return {tp: off for tp, off in stored.items() if tp in tps}

    async def ensure_partitions(self, days: set[date]) -> None:
        """Create missing day partitions in a short transaction of their own."""
        missing = days - self._known_days
        if not missing:
            return
        try:
            conn = await self._connection()
            async with conn.transaction():
                await conn.execute(query("ensure_partitions"), {"days": sorted(missing)})
        except psycopg.Error as exc:
            raise await self._guard(exc) from exc
        self._known_days |= missing

    async def drop_before(self, cutoff: date) -> int:
        """Drop history days before ``cutoff`` (retention)."""
        try:
            conn = await self._connection()
            async with conn.transaction():
                cur = await conn.execute(query("drop_partitions"), {"cutoff": cutoff})
                row = await cur.fetchone()
        except psycopg.Error as exc:
            raise await self._guard(exc) from exc
        self._known_days = {d for d in self._known_days if d >= cutoff}
        return int(str(row[0])) if row else 0

    async def write(self, batch: Batch) -> WriteResult:
        """Store the batch and its offsets atomically."""
        await self.ensure_partitions(batch.days)
        try:
            conn = await self._connection()
            async with conn.transaction():
                meters = vehicles = 0
                async with conn.cursor() as cur:
                    if batch.meters:
                        meters = await self._merge(cur, "meter", METER_TYPES, batch.meters)
                    if batch.vehicles:
                        vehicles = await self._merge(cur, "vehicle", VEHICLE_TYPES, batch.vehicles)
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
            raise await self._guard(exc) from exc
        return WriteResult(meters, vehicles, len(batch.rejects))

    async def _merge(
        self,
        cur: psycopg.AsyncCursor[tuple[object, ...]],
        kind: str,
        types: list[str],
        rows: Sequence[Sequence[object]],
    ) -> int:
        async with cur.copy(query(f"copy_stage_{kind}")) as copy:
            copy.set_types(types)
            for row in rows:
                await copy.write_row(row)
        await cur.execute(query(f"merge_{kind}"))
        got = await cur.fetchone()
        return int(str(got[0])) if got else 0

    async def _store_offsets(self, cur: psycopg.AsyncCursor[tuple[object, ...]], batch: Batch) -> None:
        stale: list[StalePartition] = []
        for tp, next_offset in sorted(batch.next_offsets.items()):
            expected = batch.expected.get(tp)
            await cur.execute(
                query("store_offset"),
                {
                    "group_id": self._group_id,
                    "topic": tp.topic,
                    "partition": tp.partition,
                    "next_offset": next_offset,
                    "expected": expected,
                },
            )
            if await cur.fetchone() is None:
                stale.append(StalePartition(tp.topic, tp.partition, expected))
        if stale:
            raise FencedError(stale)
