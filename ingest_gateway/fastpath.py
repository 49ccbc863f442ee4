"""``POST /v1/ingest`` answered straight from ASGI, in front of FastAPI's router.

The route stays declared in FastAPI (it documents the OpenAPI schema, and serves the
request if this layer is bypassed), but a single reading costs a few hundred
microseconds of CPU, and FastAPI's routing, exception middleware, per-request exit
stack, dependency solving and ``Request``/``Response`` objects were about a third of it
(``python -m bench.gateway --scenarios single``, docs/performance.md). This layer sits
innermost among the app's middleware (inside the request metrics and the request limits),
so their counts, 408s and 503s are unchanged; a :class:`GatewayError` is answered with the
same body and headers as the app's exception handler; any other exception propagates to
the app's 500 handler as before.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from common.limits import send_json
from ingest_gateway.errors import GatewayError
from ingest_gateway.ingest import Ingestor

PATH = "/v1/ingest"
JSON = (b"content-type", b"application/json")
_ONE_BODY = orjson.dumps({"accepted": 1})
_ONE_HEADERS = ((b"content-length", b"%d" % len(_ONE_BODY)), JSON)


class IngestFastPath:
    """Serves ``POST /v1/ingest`` with ``ingestor``; everything else goes to ``app``.

    ``route`` is the FastAPI route of the path, put in the scope as the router would
    (the request metrics label requests by its path template).
    """

    def __init__(self, app: ASGIApp, *, ingestor: Ingestor, route: Any) -> None:
        self.app = app
        self.ingestor = ingestor
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != "POST"
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        try:
            accepted = await self.ingestor(Headers(scope=scope), receive)
        except GatewayError as exc:
            await send_json(send, exc.status, exc.body(), exc.headers)
            return
        if accepted == 1:  # the common answer, rendered once
            await send({"type": "http.response.start", "status": 202, "headers": list(_ONE_HEADERS)})
            await send({"type": "http.response.body", "body": _ONE_BODY})
            return
        await send_json(send, 202, {"accepted": accepted})
