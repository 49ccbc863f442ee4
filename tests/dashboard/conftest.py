"""Fixtures of the dashboard tests: a PostgreSQL of their own holding the analytics tests'
main data set plus extra vehicle status rows, and the real analytics app served on a real
HTTP port (uvicorn in a thread, so the app keeps the tests' fixed clock)."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
import uvicorn

from analytics_api.app import create_app
from devstack import free_port
from devstack.postgres_install import server_bindir
from tests.analytics.support import (
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
from tests.backends.probe import containers_chosen

from .seed import CLOCK, EXTRA, Extra


@pytest.fixture(scope="session")
def dash_db() -> Iterator[Database]:
    """A fresh server and one migrated database with a reader and a mapper login (a
    PostgreSQL container with the containers backend, tests/backends)."""
    if containers_chosen():
        from tests.backends.containers import postgres_container

        with postgres_container() as url:
            yield create_database(url, "dashboard")
        return
    with postgres_server(server_bindir()) as url:
        yield create_database(url, "dashboard")


@pytest.fixture(scope="session")
async def dataset(dash_db: Database) -> Dataset:
    """The analytics main data set (30 hours of readings and mappings) and the extra rows."""
    loader = Loader(dash_db.admin)
    sent = await load_dataset(loader)
    for e in EXTRA:
        await _insert_status(loader, e)
    return sent


async def _insert_status(loader: Loader, e: Extra) -> None:
    seen = CLOCK - timedelta(seconds=e.silent_s)
    await loader.execute(
        "INSERT INTO vehicle_status"
        " (vehicle_id, ts, soc, kwh_delivered_dc, battery_temp, received_at, updated_at)"
        " VALUES (%s, %s, %s, %s, 30, %s, %s)",
        (e.vehicle_id, seen - timedelta(seconds=1), e.soc, e.kwh, seen, seen),
    )


@pytest.fixture(scope="session")
async def client(dash_db: Database, dataset: Dataset) -> AsyncIterator[httpx.AsyncClient]:
    """An analyst's in-process client of the app on the dashboard database."""
    async with serve(create_app(settings_for(dash_db), clock=Clock(CLOCK))) as c:
        yield c


@pytest.fixture(scope="session")
def live_url(dash_db: Database, dataset: Dataset) -> Iterator[str]:
    """The base URL of the real app served by uvicorn on a free port, for the browser."""
    port = free_port()
    app = create_app(settings_for(dash_db), clock=Clock(CLOCK))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="dashboard-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the analytics app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
