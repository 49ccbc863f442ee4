"""The gateway's FastAPI application."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from energy_ingest.jsonresponse import JsonResponse
from ingest_gateway import metrics
from ingest_gateway.auth import authenticate, authorize_devices
from ingest_gateway.errors import GatewayError, KafkaUnavailable, RateLimited, TooLarge
from ingest_gateway.openapi import INGEST_RESPONSES, ingest_openapi_extra
from ingest_gateway.parse import media_type, parse_readings
from ingest_gateway.publisher import Publisher
from ingest_gateway.ratelimit import DeviceRateLimiter
from ingest_gateway.settings import GatewaySettings
from schemas import MeterReading, VehicleReading, device_id_of

log = logging.getLogger(__name__)


class Accepted(BaseModel):
    """Every reading of the request was acknowledged by Kafka."""

    accepted: int


class ErrorBody(BaseModel):
    """Every error answer."""

    error: str
    message: str


class Health(BaseModel):
    status: str


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"body of {declared} bytes; the limit is {limit}", limit=limit)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"body over {limit} bytes", limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def _keep_starting(publisher: Publisher) -> None:
    """Start the producer, retrying while Kafka is unreachable."""
    delay = 0.5
    while True:
        try:
            await publisher.start()
            log.info("connected to Kafka")
            return
        except Exception as exc:
            log.warning("Kafka not reachable yet; retrying", extra={"error": repr(exc), "delay_s": delay})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)


def create_app(settings: GatewaySettings) -> FastAPI:
    """The gateway application for ``settings``."""
    publisher = Publisher(settings)
    limiter = DeviceRateLimiter(settings.rate_per_device, settings.burst_per_device)
    skew = timedelta(seconds=settings.max_future_skew_s)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        starter = asyncio.create_task(_keep_starting(publisher))
        yield
        starter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starter
        await publisher.stop()

    app = FastAPI(
        title="Energy ingest gateway",
        version="1.0.0",
        description="Devices and aggregators post meter and vehicle readings; each is "
        "acknowledged (202) only after Kafka stored it (acks=all).",
        lifespan=lifespan,
        default_response_class=JsonResponse,
    )

    @app.exception_handler(GatewayError)
    async def _gateway_error(request: Request, exc: GatewayError) -> Response:
        return JsonResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.middleware("http")
    async def _count(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.REQUESTS.labels(path, str(response.status_code)).inc()
        return response

    @app.post(
        "/v1/ingest",
        status_code=202,
        response_model=Accepted,
        responses={**INGEST_RESPONSES, 202: {"description": "Every reading acknowledged by Kafka"}},
        openapi_extra=ingest_openapi_extra("#/components/schemas/Reading"),
        summary="Post one reading, a JSON array of readings, or NDJSON",
    )
    async def ingest(
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        content_type: Annotated[str | None, Header()] = None,
    ) -> Accepted:
        received = datetime.now(UTC)
        received_ms = int(received.timestamp() * 1000)
        principal = authenticate(authorization, settings.auth_secret, settings.auth_disabled)
        kind = media_type(content_type)
        body = await _read_body(request, settings.max_body_bytes)
        readings = parse_readings(body, kind, received, skew, settings.max_records)
        devices = [device_id_of(r) for r in readings]
        authorize_devices(principal, devices)
        wait = limiter.try_take(Counter(devices))
        if wait:
            retry = "3600" if math.isinf(wait) else str(max(1, math.ceil(wait)))
            raise RateLimited(
                f"over the per-device rate ({settings.rate_per_device:g}/s, burst "
                f"{settings.burst_per_device}); retry in {retry} s",
                headers={"Retry-After": retry},
            )
        await publisher.publish(readings, received_ms)
        for r in readings:
            metrics.READINGS.labels(r.type).inc()
        return Accepted(accepted=len(readings))

    @app.get("/healthz", response_model=Health, summary="The process is up")
    async def healthz() -> Health:
        return Health(status="ok")

    @app.get(
        "/readyz",
        response_model=Health,
        responses={503: {"description": "Kafka is not reachable", "model": ErrorBody}},
        summary="Kafka is reachable",
    )
    async def readyz() -> Response:
        if await publisher.ready():
            return JsonResponse({"status": "ready"})
        err = KafkaUnavailable("Kafka is not reachable", headers={"Retry-After": str(settings.retry_after_s)})
        return JsonResponse(err.body(), status_code=503, headers=err.headers)

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    _register_schemas(app)
    return app


def _register_schemas(app: FastAPI) -> None:
    """Put the reading models and ErrorBody into the OpenAPI components."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        comps = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (MeterReading, VehicleReading, ErrorBody):
            comps[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        comps["Reading"] = {
            "oneOf": [
                {"$ref": "#/components/schemas/MeterReading"},
                {"$ref": "#/components/schemas/VehicleReading"},
            ],
            "discriminator": {
                "propertyName": "type",
                "mapping": {
                    "meter": "#/components/schemas/MeterReading",
                    "vehicle": "#/components/schemas/VehicleReading",
                },
            },
        }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
