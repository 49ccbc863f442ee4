"""The performance route's fast path (analytics_api/fastpath.py) answers as FastAPI's route
does, byte for byte, and serves its requests without FastAPI."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from analytics_api.app import create_app
from analytics_api.fastpath import PerformanceFastPath
from analytics_api.routes import performance
from common.tokens import Scope as TokenScope

from .support import BASE, HOURS, T_MOVE, Clock, Database, Dataset, settings_for, token

ANALYST = token(TokenScope.ANALYST)

# (path after /v1/analytics/performance/, query, headers)
CASES: list[tuple[str, dict[str, str], dict[str, str]]] = [
    (
        "v-a",
        {"from": (BASE + timedelta(minutes=7)).isoformat(), "to": (BASE + timedelta(hours=9)).isoformat()},
        ANALYST,
    ),
    ("v-a", {"from": T_MOVE.isoformat(), "to": (T_MOVE + timedelta(hours=2)).isoformat()}, ANALYST),
    ("v-a", {"from": BASE.isoformat(), "to": (BASE + timedelta(hours=HOURS)).isoformat()}, ANALYST),
    ("v-a", {}, ANALYST),  # the default window: the last 24 h
    ("v-a", {"to": (BASE + timedelta(hours=20)).isoformat()}, ANALYST),
    ("v-a", {"from": "2024-03-10T05:00:00+00:00", "to": "2024-03-10T07:00:00Z", "other": "x"}, ANALYST),
    ("v-idle", {"from": "2024-03-10T05:00:00Z", "to": "2024-03-10T06:00:00Z"}, ANALYST),
    ("v-nobody", {}, ANALYST),  # 404
    ("v-a", {"from": "yesterday"}, ANALYST),  # 422
    ("v-a", {"from": "2024-03-10T05:00:00Z", "to": "2024-03-10T04:00:00Z"}, ANALYST),  # to before from
    ("v-a", {"from": "2024-01-01T00:00:00Z", "to": "2024-06-01T00:00:00Z"}, ANALYST),  # too long
    ("v-a", {}, {}),  # 401: no token
    ("v-a", {}, {"Authorization": "Bearer not-a-token"}),  # 401
    ("v-a", {}, {"Authorization": "Basic abc"}),  # 401
    ("v-a", {}, token(TokenScope.METER)),  # 403
    ("v-a", {}, token(TokenScope.ADMIN)),
    ("bad id!", {}, ANALYST),  # not a vehicle id: FastAPI answers
    ("v-a/extra", {}, ANALYST),  # no such route
]
for vehicle in ("v-a", "v-b", "v-c"):
    for hour in (0, 3, 13, 22):
        start = BASE + timedelta(hours=hour, minutes=11 * hour + 3, seconds=17)
        CASES.append(
            (vehicle, {"from": start.isoformat(), "to": (start + timedelta(hours=7)).isoformat()}, ANALYST)
        )


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://analytics") as c:
            yield c


def has_fast_path(app: FastAPI) -> bool:
    return any(getattr(m, "cls", None) is PerformanceFastPath for m in app.user_middleware)


def without_fast_path(app: FastAPI) -> FastAPI:
    """``app`` answering through FastAPI's route (before its middleware stack is built)."""
    app.user_middleware = [
        m for m in app.user_middleware if getattr(m, "cls", None) is not PerformanceFastPath
    ]
    assert not has_fast_path(app)
    return app


async def test_same_answers_as_the_route(main_db: Database, dataset: Dataset, clock: Clock) -> None:
    fast = create_app(settings_for(main_db), clock=clock)
    routed = without_fast_path(create_app(settings_for(main_db), clock=clock))
    assert has_fast_path(fast)
    statuses = set()
    async with running(fast) as f, running(routed) as r:
        for vehicle, params, headers in CASES:
            path = f"/v1/analytics/performance/{vehicle}"
            got = await f.get(path, params=params, headers=headers)
            want = await r.get(path, params=params, headers=headers)
            where = f"{vehicle} {params} {headers}"
            assert got.status_code == want.status_code, where
            assert got.content == want.content, where
            for name in ("content-type", "www-authenticate", "retry-after", "x-read-source"):
                assert got.headers.get(name) == want.headers.get(name), (where, name)
            statuses.add(got.status_code)
    assert statuses == {200, 401, 403, 404, 422}  # every kind of answer was compared


async def test_served_without_fastapi(main_db: Database, dataset: Dataset, clock: Clock) -> None:
    app = create_app(settings_for(main_db), clock=clock)
    passed_on: list[str] = []

    async def fastapi_stand_in(scope: Scope, receive: Receive, send: Send) -> None:
        passed_on.append(scope["path"])
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    route = next(r for r in performance.router.routes if getattr(r, "path", None) == performance.PATH)
    layer = PerformanceFastPath(fastapi_stand_in, ctx=app.state.analytics, route=route)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=layer)
        async with httpx.AsyncClient(transport=transport, base_url="http://analytics", headers=ANALYST) as c:
            window = {"from": BASE.isoformat(), "to": (BASE + timedelta(hours=HOURS)).isoformat()}
            ok = await c.get("/v1/analytics/performance/v-a", params=window)
            unknown = await c.get("/v1/analytics/performance/v-nobody")
            bad_window = await c.get("/v1/analytics/performance/v-a", params={"from": "x"})
            repeated = await c.get("/v1/analytics/performance/v-a?from=2024-03-10T05:00:00Z&from=x")
            other = await c.get("/v1/fleet/summary")
    assert ok.status_code == 200
    assert ok.json()["vehicleId"] == "v-a"
    assert ok.json()["samples"]["vehicle"] > 0
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"
    assert bad_window.status_code == 422
    assert bad_window.json()["parameter"] == "from"
    assert repeated.status_code == 599
    assert other.status_code == 599
    assert passed_on == ["/v1/analytics/performance/v-a", "/v1/fleet/summary"]


@pytest.mark.parametrize("method", ["POST", "HEAD"])
async def test_other_methods_go_to_fastapi(
    main_db: Database, dataset: Dataset, clock: Clock, method: str
) -> None:
    fast = create_app(settings_for(main_db), clock=clock)
    routed = without_fast_path(create_app(settings_for(main_db), clock=clock))
    async with running(fast) as f, running(routed) as r:
        got = await f.request(method, "/v1/analytics/performance/v-a", headers=ANALYST)
        want = await r.request(method, "/v1/analytics/performance/v-a", headers=ANALYST)
    assert got.status_code == want.status_code == 405
    assert got.content == want.content
