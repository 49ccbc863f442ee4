"""The gateway's FastAPI application."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.middleware import Middleware

from common import http_errors
from common.limits import RequestLimits
from common.verifier import TokenVerifier
from ingest_gateway.errors import GatewayError, retry_after
from ingest_gateway.fastpath import PATH as INGEST_PATH
from ingest_gateway.fastpath import IngestFastPath
from ingest_gateway.ingest import Ingestor
from ingest_gateway.middleware import RequestMetrics
from ingest_gateway.models import Health, OrjsonResponse
from ingest_gateway.ocpp.context import DoorContext
from ingest_gateway.ocpp.endpoint import OcppDoor
from ingest_gateway.ocpp.transactions import TransactionBook
from ingest_gateway.openapi import ingest_request_body, install_openapi
from ingest_gateway.publisher import Publisher
from ingest_gateway.ratelimit import DeviceRateLimiter
from ingest_gateway.responses import READYZ_RESPONSES, ingest_responses
from ingest_gateway.settings import GatewaySettings

log = logging.getLogger(__name__)


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.critical("the Kafka connection keeper crashed", exc_info=task.exception())


def create_app(settings: GatewaySettings, publisher: Publisher | None = None) -> FastAPI:
    """The gateway application for ``settings`` (``publisher`` is for tests)."""
    publisher = publisher or Publisher(settings)
    limiter = DeviceRateLimiter(settings.rate_per_device, settings.burst_per_device)
    ingestor = Ingestor(settings, publisher, limiter)
    door = OcppDoor(
        settings,
        DoorContext(publisher, settings, TransactionBook(), settings.ocpp_heartbeat_interval_s),
        None if settings.auth_disabled else TokenVerifier(settings.keyring()),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        keeper = asyncio.create_task(publisher.run(), name="kafka-keeper")
        keeper.add_done_callback(_log_crash)
        yield
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        await publisher.close()

    app = FastAPI(
        title="Energy ingest gateway",
        version="1.0.0",
        description="Devices and aggregators post meter and vehicle readings. A 202 means Kafka "
        "stored every reading of the request (acks=all); any other answer acknowledges nothing, "
        "and retrying is safe: a reading sent twice is stored once.",
        lifespan=lifespan,
        default_response_class=OrjsonResponse,
        # No OpenTelemetry here (Prometheus metrics instead): FastAPI then skips its
        # per-request check for configured providers (4 us a request).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.add_middleware(
        RequestLimits,
        read_timeout_s=settings.request_read_timeout_s,
        max_concurrent=settings.max_concurrent_requests,
        retry_after_s=settings.retry_after_s,
    )
    app.add_middleware(RequestMetrics)  # outside the limits: their 408 and 503 are counted

    @app.exception_handler(GatewayError)
    async def _gateway_error(_: Request, exc: GatewayError) -> Response:
        return OrjsonResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    http_errors.install(app)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        # Starlette logs the exception after this answer; the body stays JSON like every other.
        body = {"error": "internal", "message": "unexpected error in the gateway; it was logged"}
        return OrjsonResponse(body, status_code=500)

    @app.post(
        INGEST_PATH,
        status_code=202,
        response_model=None,
        responses=ingest_responses(settings.max_records, settings.max_body_bytes, settings.burst_per_device),
        openapi_extra=ingest_request_body(settings.max_records),
        summary="Post one reading, a JSON array of readings, or NDJSON",
    )
    async def ingest(request: Request) -> Response:
        accepted = await ingestor(request.headers, request.receive)
        return OrjsonResponse({"accepted": accepted}, status_code=202)

    # Innermost of the middleware (appended: add_middleware would put it outermost), so the
    # metrics and the request limits see these requests as before; see fastpath.py.
    route = next(r for r in app.routes if getattr(r, "path", None) == INGEST_PATH)
    app.user_middleware.append(Middleware(IngestFastPath, ingestor=ingestor, route=route))

    @app.websocket("/ocpp/{charge_point_id}")
    async def ocpp(websocket: WebSocket, charge_point_id: str) -> None:
        """OCPP 1.6J / 2.0.1 charge points (ingest_gateway.ocpp)."""
        await door(websocket, charge_point_id)

    @app.get("/healthz", response_model=Health, summary="The process is up")
    async def healthz() -> Health:
        return Health(status="ok")

    @app.get("/readyz", response_model=Health, responses=READYZ_RESPONSES, summary="Kafka is reachable")
    async def readyz() -> Response:
        if await publisher.ready():
            return OrjsonResponse({"status": "ready"})
        body = {"error": "kafka_unavailable", "message": "Kafka is not reachable"}
        return OrjsonResponse(body, status_code=503, headers=retry_after(settings.retry_after_s))

    @app.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
    )
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    install_openapi(app)
    return app
