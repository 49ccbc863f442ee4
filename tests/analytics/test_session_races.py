"""A card registered while the consumer stores a session with it: whichever transaction
commits second maps the session (the lock order of consumer/sessions.py and
analytics_api/idtags.py). Real PostgreSQL, the real consumer and API functions, each on
its own role's connection; the interleaving is forced by holding the first transaction open."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from analytics_api.idtags import set_idtag
from analytics_api.mapping import set_mapping
from consumer.sessions import SessionRow, store_sessions
from energy_ingest.logins import ServiceRole, ensure_login

from .support import Database, create_database

T0 = datetime(2024, 3, 11, 8, 0, tzinfo=UTC)
BLOCKED_FOR_S = 0.5


@pytest.fixture(scope="module")
def race_db(pg_admin_url: str) -> tuple[Database, str]:
    db = create_database(pg_admin_url, "analytics_session_races")
    writer = ensure_login(db.admin, "session_race_writer", "writer-pw", ServiceRole.WRITER)
    return db, writer


def started(tx: str, tag: str, meter: str = "cpr:1") -> SessionRow:
    return SessionRow("cpr", tx, 1, meter, "ocpp1.6", "started", tag, T0 + timedelta(hours=int(tx)), None)


def ranges(db: Database, tx: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(db.admin, autocommit=True) as conn:
        return conn.execute(
            "SELECT m.vehicle_id, m.source FROM smart_meter_mapping m"
            " JOIN charging_sessions c ON c.id = m.session_id WHERE c.transaction_id = %s",
            (tx,),
        ).fetchall()


async def test_a_card_registered_while_its_session_is_stored(race_db: tuple[Database, str]) -> None:
    db, writer = race_db
    async with (
        await psycopg.AsyncConnection.connect(writer) as consumer,
        await psycopg.AsyncConnection.connect(db.mapper, autocommit=True) as admin,
    ):
        async with consumer.transaction():
            async with consumer.cursor() as cur:
                await store_sessions(cur, [started("1", "RACE-1")])  # the card is unknown here
            put = asyncio.create_task(set_idtag(admin, "RACE-1", "v-race", now=T0 + timedelta(days=1)))
            await asyncio.sleep(BLOCKED_FOR_S)
            assert not put.done(), "the registration waits for the session's transaction"
        change = await put  # it sees the committed session and maps it
    assert change.sessions == 1
    assert ranges(db, "1") == [("v-race", "ocpp")]


async def test_a_session_stored_while_its_card_is_registered(race_db: tuple[Database, str]) -> None:
    db, writer = race_db
    async with (
        await psycopg.AsyncConnection.connect(writer) as consumer,
        await psycopg.AsyncConnection.connect(db.mapper) as admin,
    ):
        async with admin.transaction():
            await set_idtag(admin, "RACE-2", "v-race-2", now=T0 + timedelta(days=1))

            async def store() -> None:
                async with consumer.transaction(), consumer.cursor() as cur:
                    await store_sessions(cur, [started("2", "RACE-2")])

            task = asyncio.create_task(store())
            await asyncio.sleep(BLOCKED_FOR_S)
            assert not task.done(), "the session waits for the card's transaction"
        await task  # its mapping statement sees the committed card
    assert ranges(db, "2") == [("v-race-2", "ocpp")]


async def test_a_manual_mapping_made_while_a_session_is_stored(race_db: tuple[Database, str]) -> None:
    db, writer = race_db
    async with (
        await psycopg.AsyncConnection.connect(db.mapper, autocommit=True) as admin,
        await psycopg.AsyncConnection.connect(writer) as consumer,
    ):
        await set_idtag(admin, "RACE-3", "v-race-3", now=T0)
        async with consumer.transaction():
            async with consumer.cursor() as cur:
                await store_sessions(cur, [started("3", "RACE-3", meter="cpr:3")])
            put = asyncio.create_task(set_mapping(admin, "cpr:3", "v-manual", None))
            await asyncio.sleep(BLOCKED_FOR_S)
            assert not put.done(), "the manual mapping waits for the meter's lock"
        await put  # no exclusion violation: it clears the committed session range first
    assert ranges(db, "3") == []  # an all-time manual mapping wins everywhere
