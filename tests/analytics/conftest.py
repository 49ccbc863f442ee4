"""Fixtures of the analytics tests: a PostgreSQL of their own, databases, the app, data.

Each area gets its own database (migrated, with a reader and a mapper login), so tests
do not see each other's rows; nothing but ``pg_admin_url`` depends on how the server
was started.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from analytics_api.app import create_app
from devstack.postgres_install import server_bindir
from tests.backends.probe import containers_chosen

from .support import (
    NOW,
    Clock,
    Database,
    Dataset,
    Loader,
    create_database,
    load_dataset,
    postgres_server,
    serve,
    settings_for,
)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A superuser URL of a fresh PostgreSQL server, stopped and deleted after the session.

    The server binaries are found or installed the way ``make run`` does it (devstack);
    a machine that cannot have them fails here rather than skipping the suite. With the
    containers backend (tests/backends) it is a PostgreSQL container instead."""
    if containers_chosen():
        from tests.backends.containers import postgres_container

        with postgres_container() as url:
            yield url
        return
    with postgres_server(server_bindir()) as url:
        yield url


@pytest.fixture(scope="session")
def main_db(pg_admin_url: str) -> Database:
    """The database of the performance, mapping, status and telemetry tests."""
    return create_database(pg_admin_url, "analytics_main")


@pytest.fixture(scope="session")
def fleet_db(pg_admin_url: str) -> Database:
    """A database holding only the fleet-summary status rows."""
    return create_database(pg_admin_url, "analytics_fleet")


@pytest.fixture(scope="session")
def loader(main_db: Database) -> Loader:
    """Data loader of the main database."""
    return Loader(main_db.admin)


@pytest.fixture(scope="session")
async def dataset(loader: Loader) -> Dataset:
    """The main data set (see :func:`support.load_dataset`)."""
    return await load_dataset(loader)


@pytest.fixture(scope="session")
def clock() -> Clock:
    """The main app's clock (a test that moves it puts it back)."""
    return Clock(NOW)


@pytest.fixture(scope="session")
async def client(main_db: Database, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    """An analyst's client of the API on the main database."""
    app = create_app(settings_for(main_db), clock=clock)
    async with serve(app) as c:
        yield c
