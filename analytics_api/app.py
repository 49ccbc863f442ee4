"""The analytics API's FastAPI application."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.middleware import Middleware

from analytics_api.auth import BodyGate
from analytics_api.db import Database
from analytics_api.deps import AppContext
from analytics_api.errors import ApiError, InvalidParameter, MalformedBody
from analytics_api.fastpath import PerformanceFastPath
from analytics_api.measured import Measured
from analytics_api.routes import (
    dashboard,
    fleet,
    fleet_energy,
    health,
    idtags,
    mappings,
    offline,
    performance,
    sessions,
    status,
    telemetry,
    vehicles,
)
from analytics_api.settings import AnalyticsSettings
from analytics_api.window import Clock, utc_now
from common import http_errors
from common.limits import RequestLimits

log = logging.getLogger(__name__)


def _parameter(loc: tuple[Any, ...]) -> str:
    """``("query", "limit")`` -> ``limit``; ``("body", "vehicleId")`` -> ``vehicleId``."""
    rest = [str(part) for part in loc[1:]]
    return ".".join(rest) if rest else str(loc[0]) if loc else "request"


def validation_error(exc: RequestValidationError) -> ApiError:
    """FastAPI's validation errors in the API's error format, naming each parameter."""
    errors = list(exc.errors())
    bad_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if bad_json is not None:
        reason = bad_json.get("ctx", {}).get("error", "")
        return MalformedBody(f"the body is not valid JSON: {reason}".strip())
    details = [
        {
            "parameter": _parameter(tuple(e.get("loc", ()))),
            "message": str(e.get("msg", "")).removeprefix("Value error, "),
        }
        for e in errors
    ]
    first = details[0] if details else {"parameter": "request", "message": "invalid request"}
    return InvalidParameter(first["parameter"], first["message"], details=details)


def create_app(settings: AnalyticsSettings, *, clock: Clock = utc_now) -> FastAPI:
    """The analytics application for ``settings``; its pools open and close with its lifespan."""
    db = Database(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await db.open()
        ctx.fleet.start()
        try:
            yield
        finally:
            await ctx.fleet.stop()
            await db.close()

    app = FastAPI(
        title="Energy analytics API",
        version="1.0.0",
        description="Exact fleet efficiency from hourly rollups and a time-versioned meter mapping.",
        lifespan=lifespan,
    )
    ctx = app.state.analytics = AppContext(settings=settings, db=db, clock=clock)
    http_errors.install(app)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> Response:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        err = validation_error(exc)
        return JSONResponse(err.body(), status_code=err.status, headers=err.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
        return JSONResponse({"error": "internal", "message": "internal error; see the server log"}, 500)

    # Inside the metrics middleware (its 401/413 answers are counted), before any route.
    ctx = app.state.analytics
    app.add_middleware(BodyGate, verifier=ctx.verifier, max_bytes=settings.max_request_body_bytes)

    app.add_middleware(Measured, headers=db.reads.headers)  # where it was read, and how fresh

    app.add_middleware(
        RequestLimits,
        read_timeout_s=settings.request_read_timeout_s,
        max_concurrent=settings.max_concurrent_requests,
        retry_after_s=1,
    )

    _include_routes(app)
    # Innermost of the middleware (appended: add_middleware would put it outermost), so the
    # metrics, the request limits and the body gate see these requests as before.
    route = next(r for r in performance.router.routes if getattr(r, "path", None) == performance.PATH)
    app.user_middleware.append(Middleware(PerformanceFastPath, ctx=ctx, route=route))
    return app


def _include_routes(app: FastAPI) -> None:
    """Every route of the API."""
    for module in (
        performance,
        fleet,
        fleet_energy,
        offline,
        vehicles,
        status,
        telemetry,
        mappings,
        idtags,
        sessions,
        health,
        dashboard,
    ):
        app.include_router(module.router)
