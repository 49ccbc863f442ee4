"""The time rules on the real path: bounded partitions, 422 at the gateway, rejects past it.

The partition tests use a database of their own (migrated like the others), so that
``pg_inherits`` counts only what they create and retention drops nothing of other tests.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from psycopg import sql

from devstack import Stack
from energy_ingest.migrate import migrate
from schemas.topics import METER_TOPIC
from tests.consumer.conftest import _with_database
from tests.consumer.fleet import Fleet, log_file
from tests.consumer.ledger import stored_count, until
from tests.consumer.load import meter
from tests.consumer.poison import Poison, produce
from tests.support import recent_minute, unique

INHERITS = "SELECT count(*) FROM pg_inherits"
CHILDREN = """
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s ORDER BY 1
"""
REJECTS = "SELECT reason, count(*) FROM ingest_rejects WHERE position(%s::bytea IN raw) > 0 GROUP BY 1"


@pytest.fixture
def own_db(stack: Stack, consumer_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A fresh migrated database; yields the consumer environment pointed at it."""
    name = f"energy_tr_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(stack.database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = stack.postgres.url(name)
    migrate(url)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO energy_writer").format(sql.Identifier(name))
        )
    try:
        yield consumer_env | {
            "DATABASE_URL": url,
            "CONSUMER_DATABASE_URL": _with_database(consumer_env["CONSUMER_DATABASE_URL"], name),
        }
    finally:
        with psycopg.connect(stack.database_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def own_fleet(own_db: dict[str, str], tmp_path: Path) -> Iterator[Fleet]:
    log = log_file(tmp_path)
    f = Fleet(own_db, unique("energy-ingest-grp"), log)
    try:
        yield f
    finally:
        f.stop_all()
        log.close()


def one(db: psycopg.Connection[tuple[Any, ...]], query: str, *args: object) -> Any:
    row = db.execute(query, args).fetchone()
    assert row is not None
    return row[0]


def test_twenty_years_of_weekly_readings_make_month_partitions_and_1990_gets_422(
    own_fleet: Fleet, gateway: str
) -> None:
    prefix = unique("tw")
    rng = random.Random(11)
    start = datetime(2001, 1, 1, tzinfo=UTC)
    times = [start + timedelta(weeks=i) for i in range(1000)]
    assert times[-1] < datetime(2021, 1, 1, tzinfo=UTC)
    readings = [meter(f"{prefix}-m{i % 10}", t, rng) for i, t in enumerate(times)]
    # Every month of the span is older than the day-partition window: one partition per
    # month and history table, each with its primary-key index (also a pg_inherits row).
    months = {(t.year, t.month) for t in times}
    expected = len(months) * 2 * 2
    own_fleet.start("c1")
    headers = {"Authorization": f"Bearer {own_fleet.env['INGEST_TOKEN']}"}
    with httpx.Client(base_url=gateway, headers=headers, timeout=60) as client:
        resp = client.post("/v1/ingest", json=readings)
        assert resp.status_code == 202, resp.text
        with own_fleet.db() as db:
            until(lambda: stored_count(db, prefix) == len(readings), 120, "every weekly reading stored")
            assert one(db, INHERITS) == expected == 230 * 4  # the old scheme: 1000 days x 2 x 2 = 4000
            names = [r[0] for r in db.execute(CHILDREN, ("meter_telemetry",)).fetchall()]
            assert names[:2] == ["meter_telemetry_200101", "meter_telemetry_200102"]
            assert all(len(n) == len("meter_telemetry_YYYYMM") for n in names)

        ancient = [
            meter(f"{prefix}-old", datetime(1990, 1, 1, tzinfo=UTC) + timedelta(weeks=i), rng)
            for i in range(3)
        ]
        refused = client.post("/v1/ingest", json=ancient)
        assert refused.status_code == 422, refused.text
        errors = refused.json()["errors"]
        assert [(e["index"], e["field"]) for e in errors] == [
            (0, "timestamp"),
            (1, "timestamp"),
            (2, "timestamp"),
        ]
        assert all(
            "before the floor 2000-01-01T00:00:00Z (rule TIMESTAMP_FLOOR)" in e["message"] for e in errors
        )
    own_fleet.assert_alive()
    with own_fleet.db() as db:
        assert one(db, INHERITS) == expected


def test_partitions_are_created_a_bounded_number_per_transaction_and_dropped_whole(
    own_db: dict[str, str],
) -> None:
    today = datetime.now(UTC).date()
    this_month = today.replace(day=1)
    old_days = [date(2002 + i // 12, i % 12 + 1, 7) for i in range(40)]  # 40 old months
    with psycopg.connect(own_db["DATABASE_URL"], autocommit=True) as db:
        # At most max_new per call: the caller repeats until a call creates fewer.
        calls = [one(db, "SELECT ensure_day_partitions(%s::date[], 3, 16)", old_days) for _ in range(6)]
        assert calls == [16, 16, 16, 16, 16, 0]  # 40 months x 2 tables = 80
        assert one(db, "SELECT ensure_day_partitions(%s::date[], 3, 16)", [date(2002, 1, 20)]) == 0
        # The recent months get day partitions; an old month that already has days keeps them.
        one(db, "SELECT ensure_day_partitions(%s::date[])", [date(2010, 5, 3)])  # the owner's day form
        recent = sorted({today, this_month})
        made = one(db, "SELECT ensure_day_partitions(%s::date[], 3, 16)", [*recent, date(2010, 5, 9)])
        assert made == 2 * len(recent) + 2
        names = {r[0] for r in db.execute(CHILDREN, ("vehicle_telemetry",)).fetchall()}
        assert {
            "vehicle_telemetry_200201",
            "vehicle_telemetry_20100503",
            "vehicle_telemetry_20100509",
        } <= names
        assert f"vehicle_telemetry_{today:%Y%m%d}" in names
        assert "vehicle_telemetry_201005" not in names
        db.execute(
            "INSERT INTO meter_telemetry (meter_id, ts, kwh_consumed_ac, voltage) VALUES (%s, %s, 1, 230)",
            ("m-month", datetime(2002, 3, 31, 23, 59, tzinfo=UTC)),
        )
        # A month straddling the cutoff is kept; one wholly before it is dropped.
        assert one(db, "SELECT drop_day_partitions_before(%s)", date(2002, 3, 31)) == 2 * 2  # Jan, Feb
        assert one(db, "SELECT count(*) FROM meter_telemetry WHERE meter_id = 'm-month'") == 1
        assert one(db, "SELECT drop_day_partitions_before(%s)", date(2002, 4, 1)) == 2
        assert one(db, "SELECT count(*) FROM meter_telemetry WHERE meter_id = 'm-month'") == 0
        # Day partitions: the day before the cutoff goes, the cutoff's day stays.
        dropped = one(db, "SELECT drop_day_partitions_before(%s)", today)
        names = {r[0] for r in db.execute(CHILDREN, ("meter_telemetry",)).fetchall()}
        assert names == {f"meter_telemetry_{today:%Y%m%d}"}
        assert dropped == 2 * (37 + 2 + len(recent) - 1)  # the old months, 2010-05's days, this month's


def test_readings_produced_around_the_gateway_are_rejected_with_their_rule(
    fleet: Fleet,
) -> None:
    prefix = unique("tk")
    rng = random.Random(5)
    now = recent_minute()
    expired = [meter(f"{prefix}-e{i}", now - timedelta(days=40, minutes=i), rng) for i in range(60)]
    others = {
        "timestamp_floor": meter(f"{prefix}-floor", datetime(1990, 1, 1, tzinfo=UTC), rng),
        "timestamp_future": meter(f"{prefix}-future", datetime.now(UTC) + timedelta(hours=2), rng),
        "timestamp_max_past_age": meter(f"{prefix}-aged", now - timedelta(days=20), rng),
    }
    within_skew = meter(f"{prefix}-ahead", datetime.now(UTC) + timedelta(minutes=30), rng)
    fresh = meter(f"{prefix}-fresh", now, rng)
    # A window of 20 messages: 60 expired readings in a row would be a flood if counted.
    fleet.start(
        "c1",
        {
            "RETENTION_DAYS": "30",
            "MAX_PAST_AGE_S": str(10 * 86400),
            "MAX_FUTURE_SKEW_S": "3600",
            "REJECT_WINDOW": "20",
            "REJECT_MIN_MESSAGES": "10",
        },
    )
    values = [*expired, *others.values(), within_skew, fresh]
    items = [(Poison(str(i), METER_TOPIC, orjson.dumps(v), "?"), 0) for i, v in enumerate(values)]
    produce(fleet.env, items)
    until(lambda: not fleet.lagging(), 90, "group caught up")
    fleet.assert_alive()
    with fleet.db() as db:
        reasons = dict(db.execute(REJECTS, (prefix.encode(),)).fetchall())
        stored = stored_count(db, prefix)
    assert reasons == {
        "expired": 60,
        "timestamp_floor": 1,
        "timestamp_future": 1,
        "timestamp_max_past_age": 1,
    }
    assert stored == 2, (
        "30 minutes ahead is within MAX_FUTURE_SKEW_S=3600 (the old hard-coded 300 s refused it)"
    )
    assert fleet.metric("c1", "consumer_rejects_total", {"reason": "expired"}) == 60
