"""Least privilege, login by login: what each service's credentials can and cannot do.

The drop tests run in the consumer tests' own database (an old partition made for the
purpose); the analytics logins are tried on the main database, where they can connect.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
import pytest
from psycopg import sql as pgsql

from sql import query

OLD_DAY = date(2001, 3, 4)
CUTOFF = date(2001, 5, 1)  # March 2001 is wholly before it, whether stored by day or month

PARTITIONS = """
SELECT count(*) FROM pg_inherits
WHERE inhparent IN ('meter_telemetry'::regclass, 'vehicle_telemetry'::regclass)
"""


def _connect(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def _partitions(admin_url: str) -> int:
    with _connect(admin_url) as db:
        row = db.execute(PARTITIONS).fetchone()
    assert row is not None
    return int(row[0])


def test_consumer_login_cannot_drop_history(consumer_env: dict[str, str]) -> None:
    with _connect(consumer_env["CONSUMER_DATABASE_URL"]) as db:
        assert db.execute("SELECT current_user").fetchone() == ("energy_consumer",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied for function"):
            db.execute(query("drop_partitions"), {"cutoff": date.today()})


def test_retention_login_can_drop(consumer_env: dict[str, str]) -> None:
    admin = consumer_env["DATABASE_URL"]
    with _connect(admin) as db:
        db.execute("SELECT ensure_day_partitions(ARRAY[%s]::date[])", (OLD_DAY,))
    before = _partitions(admin)
    with _connect(consumer_env["RETENTION_DATABASE_URL"]) as db:
        assert db.execute("SELECT current_user").fetchone() == ("energy_retention_job",)
        row = db.execute(query("drop_partitions"), {"cutoff": CUTOFF}).fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute("SELECT count(*) FROM meter_telemetry")  # it drops; it does not read
    assert row is not None
    assert int(row[0]) >= 2  # the meter and the vehicle partition of that day
    assert _partitions(admin) == before - int(row[0])


@pytest.mark.parametrize("login", ["ANALYTICS_DATABASE_URL", "MAPPING_DATABASE_URL"])
@pytest.mark.parametrize(
    "statement", ["SELECT count(*) FROM consumer_offsets", "SELECT raw FROM ingest_rejects LIMIT 1"]
)
def test_analytics_logins_cannot_read_the_consumers_bookkeeping(
    stack_env: dict[str, str], login: str, statement: str
) -> None:
    denied = pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied for table")
    with _connect(stack_env[login]) as db, denied:
        db.execute(statement)


def test_analytics_logins_keep_what_their_routes_use(stack_env: dict[str, str]) -> None:
    with _connect(stack_env["ANALYTICS_DATABASE_URL"]) as db:
        for table in ("meter_status", "vehicle_status", "meter_hourly", "smart_meter_mapping"):
            db.execute(pgsql.SQL("SELECT count(*) FROM {}").format(pgsql.Identifier(table)))
    with _connect(stack_env["MAPPING_DATABASE_URL"]) as db, db.transaction(force_rollback=True):
        db.execute(
            "INSERT INTO smart_meter_mapping (meter_id, vehicle_id, valid) VALUES ('m-role', 'v-role', '[,)')"
        )


def test_daily_rollups_are_views_the_readers_may_read(stack_env: dict[str, str]) -> None:
    """Migration 0018: the daily rollups are computed from the hourly ones, nobody writes them."""
    with _connect(stack_env["ANALYTICS_DATABASE_URL"]) as db:
        for view in ("meter_daily", "vehicle_daily"):
            db.execute(pgsql.SQL("SELECT count(*) FROM {}").format(pgsql.Identifier(view)))
            row = db.execute(
                "SELECT c.relkind, has_table_privilege('energy_writer', c.oid, 'INSERT, UPDATE, DELETE')"
                " FROM pg_class c WHERE c.oid = to_regclass(%s)",
                (view,),
            ).fetchone()
            assert row == ("v", False), view
