"""A streaming hot standby of the local PostgreSQL: it follows the primary and refuses writes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from devstack import free_port
from devstack.postgres import PostgresServer
from devstack.standby import PostgresStandby


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PostgresServer, PostgresStandby]]:
    root = Path(tmp_path_factory.mktemp("standby"))
    primary = PostgresServer(root / "primary", free_port(), replication=True)
    primary.start()
    standby = PostgresStandby(primary, root / "standby", free_port())
    try:
        standby.start()
        yield primary, standby
    finally:
        standby.stop()
        primary.stop()


def _eventually(
    read: psycopg.Connection[tuple[object, ...]], query: str, want: object, timeout: float = 15
) -> None:
    deadline = time.monotonic() + timeout
    got: object = None
    while time.monotonic() < deadline:
        try:
            row = read.execute(query).fetchone()
        except psycopg.errors.UndefinedTable:  # its CREATE TABLE not replayed yet
            row = None
        got = row[0] if row else None
        if got == want:
            return
        time.sleep(0.05)
    pytest.fail(f"the standby shows {got!r}, not {want!r}, after {timeout} s")


def test_the_standby_replays_what_the_primary_commits(pair: tuple[PostgresServer, PostgresStandby]) -> None:
    primary, standby = pair
    with psycopg.connect(primary.database_url, autocommit=True) as w:
        w.execute("CREATE TABLE IF NOT EXISTS replicated (n integer)")
        w.execute("INSERT INTO replicated SELECT generate_series(1, 1000)")
    with psycopg.connect(standby.database_url, autocommit=True) as r:
        assert r.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        _eventually(r, "SELECT sum(n) FROM replicated", 500500)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            r.execute("INSERT INTO replicated VALUES (1)")


def test_a_restarted_standby_catches_up(pair: tuple[PostgresServer, PostgresStandby]) -> None:
    primary, standby = pair
    standby.stop()
    with psycopg.connect(primary.database_url, autocommit=True) as w:
        w.execute("CREATE TABLE IF NOT EXISTS later (n integer)")
        w.execute("INSERT INTO later SELECT generate_series(1, 10)")
    standby.start()
    with psycopg.connect(standby.database_url, autocommit=True) as r:
        _eventually(r, "SELECT count(*) FROM later", 10)
