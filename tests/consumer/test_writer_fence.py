"""The batch writer against the real database: the offset fence and missing partitions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from aiokafka.structs import TopicPartition
from psycopg import sql as pgsql

from consumer.batch import Batch, MeterRow, Reject
from consumer.errors import FencedError, RecoverableError
from consumer.writer import BatchWriter
from schemas.topics import METER_TOPIC
from tests.consumer.ledger import CONSISTENT, consistency, stored_count
from tests.support import unique

TP = TopicPartition(METER_TOPIC, 0)


def rows(prefix: str, start: datetime, n: int, offset: int) -> list[MeterRow]:
    return [(f"{prefix}-m", start + timedelta(minutes=i), 1.5, 230.0, None, 0, offset + i) for i in range(n)]


def batch(meters: list[MeterRow], expected: int | None, next_offset: int, reject: bool = False) -> Batch:
    b = Batch(generation=1, meters=meters, expected={TP: expected}, next_offsets={TP: next_offset})
    b.days = {m[1].date() for m in meters}
    if reject:
        b.rejects.append(Reject(METER_TOPIC, 0, next_offset - 1, b"k", b"\x00bad", "invalid_json", "x"))
    return b


def db(env: dict[str, str]) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(env["DATABASE_URL"], autocommit=True)


async def test_stale_batch_rolls_back_entirely(consumer_env: dict[str, str]) -> None:
    group, prefix = unique("fence"), unique("fx")
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    a = BatchWriter(consumer_env["CONSUMER_DATABASE_URL"], group)
    b = BatchWriter(consumer_env["CONSUMER_DATABASE_URL"], group)
    try:
        await a.write(batch(rows(prefix, t0, 10, 0), None, 10))
        # b took the partition over and moved it 10 -> 15; a still believes in 10.
        await b.write(batch(rows(prefix, t0 + timedelta(minutes=10), 5, 10), 10, 15))
        stale = batch(rows(prefix + "-stale", t0, 10, 10), 10, 20, reject=True)
        with pytest.raises(FencedError) as fenced:
            await a.write(stale)
        assert [(s.expected, s.actual) for s in fenced.value.stale] == [(10, 15)]
        assert not fenced.value.already_committed(stale.next_offsets)
        with db(consumer_env) as conn:
            assert stored_count(conn, prefix + "-stale") == 0, "nothing of the stale batch is stored"
            kept = conn.execute(
                "SELECT count(*) FROM ingest_rejects WHERE topic = %s AND raw = %s AND kafka_offset = 19",
                (METER_TOPIC, b"\x00bad"),
            ).fetchone()
            assert stored_count(conn, prefix) == 15
            assert consistency(conn, prefix) == CONSISTENT
        assert kept == (0,), "its rejects were rolled back with it"
        # The same batch twice: the second attempt finds its own commit.
        again = batch(rows(prefix, t0 + timedelta(minutes=15), 5, 15), 15, 20)
        await b.write(again)
        with pytest.raises(FencedError) as twice:
            await b.write(again)
        assert twice.value.already_committed(again.next_offsets)
    finally:
        await a.close()
        await b.close()


async def test_a_dropped_day_is_recreated_on_retry(consumer_env: dict[str, str]) -> None:
    group, prefix = unique("gone"), unique("gx")
    day = datetime(2000, 2, 1, 12, tzinfo=UTC)  # a month no other test writes to
    w = BatchWriter(consumer_env["CONSUMER_DATABASE_URL"], group)
    try:
        await w.write(batch(rows(prefix, day, 2, 0), None, 2))
        with db(consumer_env) as conn:
            # Whichever partition holds the day (a month partition for a month this old).
            found = conn.execute(
                "SELECT tableoid::regclass::text FROM meter_telemetry WHERE meter_id LIKE %s LIMIT 1",
                (f"{prefix}%",),
            ).fetchone()
            assert found is not None
            conn.execute(pgsql.SQL("DROP TABLE {}").format(pgsql.Identifier(found[0])))
        with pytest.raises(RecoverableError):
            await w.write(batch(rows(prefix, day + timedelta(minutes=5), 2, 2), 2, 4))
        await w.write(batch(rows(prefix, day + timedelta(minutes=5), 2, 2), 2, 4))
        with db(consumer_env) as conn:
            assert stored_count(conn, prefix) == 2
    finally:
        await w.close()


async def test_replicas_racing_for_a_new_day_both_succeed(consumer_env: dict[str, str]) -> None:
    """Two writers create the same new day at once (this made a replica halt before 0007)."""
    prefix = unique("race")
    writers = [BatchWriter(consumer_env["CONSUMER_DATABASE_URL"], unique("race")) for _ in range(4)]
    try:
        for round_ in range(5):
            day = datetime(2002, 3, 1 + round_, 6, tzinfo=UTC)
            expected = 3 * round_ if round_ else None
            batches = [
                batch(rows(f"{prefix}-{i}", day, 3, 3 * round_), expected, 3 * round_ + 3)
                for i in range(len(writers))
            ]
            await asyncio.gather(*(w.write(b) for w, b in zip(writers, batches, strict=True)))
        with db(consumer_env) as conn:
            assert stored_count(conn, prefix) == 5 * 3 * len(writers)
    finally:
        for w in writers:
            await w.close()
