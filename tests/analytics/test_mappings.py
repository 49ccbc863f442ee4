"""PUT and GET /v1/mappings/meters/{meterId}, and the shared mapping logic."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from analytics_api.mapping import (
    InvalidMappingError,
    MappingConflictError,
    list_mappings,
    set_mapping,
    set_mapping_sync,
)
from common.tokens import Scope

from .support import NOW, Clock, Database, token

ADMIN = token(Scope.ADMIN)


@pytest.fixture
def moved_clock(clock: Clock) -> Iterator[Clock]:
    """The app's clock, put back after the test."""
    yield clock
    clock.now = NOW


async def put(client: httpx.AsyncClient, meter: str, body: dict[str, str]) -> httpx.Response:
    return await client.put(f"/v1/mappings/meters/{meter}", json=body, headers=ADMIN)


async def test_first_mapping_covers_all_time_and_repeats_change_nothing(client: httpx.AsyncClient) -> None:
    r = await put(client, "mt-first", {"vehicleId": "v-1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["changed"] is True
    assert body["current"]["vehicleId"] == "v-1"
    assert body["current"]["validFrom"] is None
    assert body["current"]["validTo"] is None
    assert body["closed"] is None
    again = (await put(client, "mt-first", {"vehicleId": "v-1"})).json()
    assert again["changed"] is False
    assert again["current"] == body["current"]
    listing = (await client.get("/v1/mappings/meters/mt-first")).json()
    assert listing["current"] == body["current"]
    assert listing["mappings"] == [body["current"]]


async def test_remap_without_valid_from_starts_now(client: httpx.AsyncClient, moved_clock: Clock) -> None:
    await put(client, "mt-now", {"vehicleId": "v-1"})
    moved_clock.now = datetime(2024, 5, 1, 8, 30, 15, 250000, tzinfo=UTC)
    body = (await put(client, "mt-now", {"vehicleId": "v-2"})).json()
    assert body["changed"] is True
    assert body["closed"]["vehicleId"] == "v-1"
    assert body["closed"]["validTo"] == "2024-05-01T08:30:15.250000Z"
    assert body["current"]["validFrom"] == "2024-05-01T08:30:15.250000Z"
    listing = (await client.get("/v1/mappings/meters/mt-now")).json()
    assert [m["vehicleId"] for m in listing["mappings"]] == ["v-2", "v-1"]
    assert listing["current"]["vehicleId"] == "v-2"
    moved_clock.now = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)  # before the re-mapping
    assert (await client.get("/v1/mappings/meters/mt-now")).json()["current"]["vehicleId"] == "v-1"


async def test_valid_from_closes_the_open_range_there(client: httpx.AsyncClient) -> None:
    first = (
        await put(client, "mt-from", {"vehicleId": "v-1", "validFrom": "2024-01-01T00:00:00+01:00"})
    ).json()
    assert first["current"]["validFrom"] == "2023-12-31T23:00:00Z"
    second = (await put(client, "mt-from", {"vehicleId": "v-2", "validFrom": "2024-02-01T12:00:00Z"})).json()
    assert second["closed"] == {**first["current"], "validTo": "2024-02-01T12:00:00Z"}
    assert second["current"]["validFrom"] == "2024-02-01T12:00:00Z"
    assert second["current"]["validTo"] is None
    # the same vehicle from a later time: already mapped, nothing to do
    same = (await put(client, "mt-from", {"vehicleId": "v-2", "validFrom": "2024-03-01T00:00:00Z"})).json()
    assert same["changed"] is False


@pytest.mark.parametrize("valid_from", ["2024-01-15T00:00:00Z", "2024-02-01T12:00:00Z"])
async def test_valid_from_not_after_the_current_start_is_409(
    client: httpx.AsyncClient, valid_from: str
) -> None:
    meter = f"mt-conflict-{valid_from[:10]}-{valid_from[11:13]}"
    await put(client, meter, {"vehicleId": "v-1", "validFrom": "2024-02-01T12:00:00Z"})
    r = await put(client, meter, {"vehicleId": "v-2", "validFrom": valid_from})
    assert r.status_code == 409
    assert r.json()["error"] == "conflict"
    assert "must be after the start" in r.json()["message"]
    r = await put(client, meter, {"vehicleId": "v-1", "validFrom": "2024-01-01T00:00:00Z"})
    assert r.status_code == 409
    assert "would rewrite earlier history" in r.json()["message"]
    listing = (await client.get(f"/v1/mappings/meters/{meter}")).json()
    assert len(listing["mappings"]) == 1


async def test_concurrent_first_mappings_are_serialised(main_db: Database) -> None:
    """Without the lock, both would see no row and the second insert would break the constraint."""

    async def one() -> bool:
        async with await psycopg.AsyncConnection.connect(main_db.mapper, autocommit=True) as conn:
            return (await set_mapping(conn, "mt-race", "v-1", None)).changed

    changed = await asyncio.gather(*(one() for _ in range(8)))
    assert sorted(changed) == [False] * 7 + [True]


async def test_concurrent_remaps_never_overlap(main_db: Database) -> None:
    base = datetime(2024, 1, 1, tzinfo=UTC)

    async def one(i: int) -> str:
        async with await psycopg.AsyncConnection.connect(main_db.mapper, autocommit=True) as conn:
            try:
                await set_mapping(conn, "mt-remaps", f"v-{i}", base + timedelta(hours=i))
            except MappingConflictError:
                return "conflict"
            return "ok"

    outcomes = await asyncio.gather(*(one(i) for i in (5, 1, 7, 3, 2, 8, 4, 6)))
    assert "ok" in outcomes
    async with await psycopg.AsyncConnection.connect(main_db.mapper) as conn:
        ranges = await list_mappings(conn, "mt-remaps")
    assert len(ranges) == outcomes.count("ok")
    ordered = sorted(ranges, key=lambda r: r.valid_from or base)
    for earlier, later in itertools.pairwise(ordered):
        assert earlier.valid_to == later.valid_from  # contiguous, never overlapping
    assert ordered[-1].valid_to is None


async def test_the_sync_wrapper_for_the_cli(main_db: Database) -> None:
    at = datetime(2024, 4, 1, tzinfo=UTC)
    change = await asyncio.to_thread(set_mapping_sync, main_db.mapper, "mt-cli", "v-cli", at)
    assert change.changed
    assert change.current.valid_from == at
    assert change.summary() == "mt-cli now feeds v-cli from 2024-04-01T00:00:00+00:00"
    again = await asyncio.to_thread(set_mapping_sync, main_db.mapper, "mt-cli", "v-cli")
    assert "already feeds v-cli" in again.summary()


@pytest.mark.parametrize(
    ("meter", "vehicle", "valid_from"),
    [("m 1", "v-1", None), ("m-1", "", None), ("m-1", "v-1", datetime(2024, 1, 1))],
)
async def test_invalid_arguments(
    main_db: Database, meter: str, vehicle: str, valid_from: datetime | None
) -> None:
    async with await psycopg.AsyncConnection.connect(main_db.mapper, autocommit=True) as conn:
        with pytest.raises(InvalidMappingError):
            await set_mapping(conn, meter, vehicle, valid_from)


async def test_the_reader_role_cannot_write_mappings(main_db: Database) -> None:
    async with await psycopg.AsyncConnection.connect(main_db.reader, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await set_mapping(conn, "mt-reader", "v-1", None)
