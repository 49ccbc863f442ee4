"""``GET /v1/analytics/performance/{vehicleId}`` answered straight from ASGI, in front of
FastAPI's router.

The route stays declared in FastAPI (it documents the OpenAPI schema and answers whatever
this layer passes on), but FastAPI's routing, exception middleware, per-request exit
stack and dependency solving were about a third of the API's CPU per performance request
(py-spy of ``python -m bench.analytics.cpu``, docs/analytics-benchmark.md). This layer
sits innermost among the app's middleware (inside the request metrics, the request limits
and the body gate), so their counts and answers are unchanged. It serves a request only
when the path holds a valid vehicle id and no query parameter is repeated; anything else
goes to FastAPI, which answers it as before. It checks the token and the window with the
route's own functions, in the route's order, and answers an :class:`ApiError` with the
body and headers of the app's handler; any other exception propagates to the app's 500
handler as before. ``tests/analytics/test_performance_fastpath.py`` compares its answers
with the route's, byte for byte.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import Headers, QueryParams
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from analytics_api.deps import READ_SCOPES, AppContext, authorize, request_window
from analytics_api.errors import ApiError
from analytics_api.routes import performance
from schemas.readings import ID_PATTERN

PREFIX = performance.PATH.removesuffix("{vehicleId}")
_ID = re.compile(ID_PATTERN)
_JSON = (b"content-type", b"application/json")


class PerformanceFastPath:
    """Serves the performance route with ``ctx``; everything else goes to ``app``.

    ``route`` is the FastAPI route, put in the scope as the router would (the request
    metrics label requests by its path template).
    """

    def __init__(self, app: ASGIApp, *, ctx: AppContext, route: Any) -> None:
        self.app = app
        self.ctx = ctx
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = self._params(scope)
        if params is None:
            await self.app(scope, receive, send)
            return
        vehicle_id, from_, to = params
        scope["route"] = self.route
        try:
            authorize(self.ctx, Headers(scope=scope).get("authorization"), READ_SCOPES)
            window = request_window(self.ctx, from_, to)
            body = await performance.answer(self.ctx, vehicle_id, window)
        except ApiError as exc:  # as the app's exception handler answers it
            response = JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)
            await response(scope, receive, send)
            return
        content = body.model_dump_json(by_alias=True).encode()
        headers = [(b"content-length", b"%d" % len(content)), _JSON]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    @staticmethod
    def _params(scope: Scope) -> tuple[str, str | None, str | None] | None:
        """``(vehicle id, from, to)`` of a request this layer serves, else ``None``."""
        if scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path"):
            return None
        path: str = scope["path"]
        if not path.startswith(PREFIX) or not _ID.fullmatch(vehicle_id := path[len(PREFIX) :]):
            return None
        query = QueryParams(scope["query_string"])
        if len(query) != len(query.multi_items()):
            return None  # a repeated parameter: as FastAPI reads it
        return vehicle_id, query.get("from"), query.get("to")
