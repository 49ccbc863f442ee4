"""Fixtures of the session tests: one consumer replica of a fresh group per module, and the
analytics app in-process on the consumer tests' database (reader and mapper logins of its own)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from analytics_api.app import create_app
from common.tokens import Scope
from energy_ingest.logins import ServiceRole, ensure_login
from tests.analytics.support import Clock, Database, serve, settings_for, token
from tests.consumer.fleet import Fleet, log_file
from tests.consumer.ledger import until
from tests.support import unique

ADMIN = token(Scope.ADMIN)


@dataclass
class Api:
    """The analytics app on the consumer tests' database (an analyst's token by default)."""

    client: httpx.AsyncClient
    clock: Clock

    async def put_idtag(self, tag: str, vehicle: str) -> httpx.Response:
        return await self.client.put(f"/v1/idtags/{tag}", json={"vehicleId": vehicle}, headers=ADMIN)


@pytest.fixture(scope="module")
def group(consumer_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """One consumer replica of a fresh group, for the whole module."""
    log = log_file(tmp_path_factory.mktemp("sessions"))
    fleet = Fleet(consumer_env, unique("energy-ingest-grp"), log)
    fleet.start("s1")
    fleet.wait_metrics("s1")
    try:
        yield fleet
    finally:
        fleet.stop_all()
        log.close()


@pytest.fixture(scope="module")
async def api(consumer_env: dict[str, str]) -> AsyncIterator[Api]:
    admin = consumer_env["DATABASE_URL"]
    reader = ensure_login(admin, "sessions_test_reader", "sessions-reader-pw", ServiceRole.READER)
    mapper = ensure_login(admin, "sessions_test_mapper", "sessions-mapper-pw", ServiceRole.MAPPER)
    clock = Clock(datetime.now(UTC))
    app = create_app(settings_for(Database(admin, reader, mapper)), clock=clock)
    async with serve(app) as client:
        yield Api(client, clock)


async def caught_up(group: Fleet) -> None:
    """Until the group has stored the offsets of everything produced so far."""
    await asyncio.to_thread(until, lambda: not group.lagging(), 60, "the group caught up")
