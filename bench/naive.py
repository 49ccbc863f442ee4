"""Mode *naive*'s server: the seed's design, one request and one transaction per reading.

A tiny FastAPI app: ``POST /v1/ingest`` takes one reading, validates it with the shared
models, and in one transaction from a psycopg pool INSERTs it into history and upserts
the device's status. No Kafka, no batching, no rollups. Run as a child process by the
bench (``energy-ingest bench --serve-naive PORT``); settings come from the environment:
``NAIVE_DATABASE_URL`` (default: ``CONSUMER_DATABASE_URL``) and ``NAIVE_POOL_SIZE``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
from psycopg import sql
from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError

from common.jsonresponse import JsonResponse
from schemas import MeterReading, ValidationClock, validate_reading_json

INSERT_METER = sql.SQL(
    "INSERT INTO meter_telemetry (meter_id, ts, kwh_consumed_ac, voltage, received_at)"
    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (meter_id, ts) DO NOTHING"
)
UPSERT_METER_STATUS = sql.SQL(
    "INSERT INTO meter_status AS s (meter_id, ts, kwh_consumed_ac, voltage, received_at)"
    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (meter_id) DO UPDATE"
    " SET ts = EXCLUDED.ts, kwh_consumed_ac = EXCLUDED.kwh_consumed_ac, voltage = EXCLUDED.voltage,"
    " received_at = EXCLUDED.received_at, updated_at = now() WHERE s.ts < EXCLUDED.ts"
)
INSERT_VEHICLE = sql.SQL(
    "INSERT INTO vehicle_telemetry (vehicle_id, ts, soc, kwh_delivered_dc, battery_temp, received_at)"
    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (vehicle_id, ts) DO NOTHING"
)
UPSERT_VEHICLE_STATUS = sql.SQL(
    "INSERT INTO vehicle_status AS s (vehicle_id, ts, soc, kwh_delivered_dc, battery_temp, received_at)"
    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (vehicle_id) DO UPDATE"
    " SET ts = EXCLUDED.ts, soc = EXCLUDED.soc, kwh_delivered_dc = EXCLUDED.kwh_delivered_dc,"
    " battery_temp = EXCLUDED.battery_temp, received_at = EXCLUDED.received_at, updated_at = now()"
    " WHERE s.ts < EXCLUDED.ts"
)


@dataclass(frozen=True, slots=True)
class NaiveSettings:
    """Resolved once at start-up."""

    database_url: str
    port: int
    pool_size: int = 8

    @classmethod
    def from_env(cls, port: int) -> NaiveSettings:
        url = os.environ.get("NAIVE_DATABASE_URL") or os.environ.get("CONSUMER_DATABASE_URL")
        if not url:
            raise SystemExit("bench --serve-naive: set NAIVE_DATABASE_URL (or CONSUMER_DATABASE_URL)")
        return cls(url, port, int(os.environ.get("NAIVE_POOL_SIZE", "8")))


def create_app(settings: NaiveSettings) -> FastAPI:
    """The naive server for ``settings``; its pool opens in the lifespan."""
    pool = AsyncConnectionPool(
        settings.database_url, min_size=settings.pool_size, max_size=settings.pool_size, open=False
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await pool.open(wait=True)
        yield
        await pool.close()

    app = FastAPI(
        title="Naive baseline (seed design)", lifespan=lifespan, default_response_class=JsonResponse
    )

    @app.post("/v1/ingest", status_code=202)
    async def ingest(request: Request) -> Response:
        received = datetime.now(UTC)
        try:
            r = validate_reading_json(await request.body(), ValidationClock(received))
        except ValidationError as exc:
            return JsonResponse({"error": "invalid", "message": str(exc)}, status_code=422)
        async with pool.connection() as conn, conn.transaction():
            if isinstance(r, MeterReading):
                row = (r.meterId, r.timestamp, r.kwhConsumedAc, r.voltage, received)
                await conn.execute(INSERT_METER, row)
                await conn.execute(UPSERT_METER_STATUS, row)
            else:
                row2 = (r.vehicleId, r.timestamp, r.soc, r.kwhDeliveredDc, r.batteryTemp, received)
                await conn.execute(INSERT_VEHICLE, row2)
                await conn.execute(UPSERT_VEHICLE_STATUS, row2)
        return JsonResponse({"accepted": 1}, status_code=202)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve(port: int) -> int:
    """Run the naive server in the foreground until SIGTERM."""
    settings = NaiveSettings.from_env(port)
    uvicorn.run(
        create_app(settings),
        host="127.0.0.1",
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
    )
    return 0
