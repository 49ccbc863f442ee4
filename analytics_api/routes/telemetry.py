"""``GET /v1/vehicles/{vehicleId}/telemetry`` and ``GET /v1/meters/{meterId}/telemetry``.

Buckets: ``1m`` from the raw rows, ``1h`` from the hourly rollups, ``1d`` from the hourly
rollups summed by UTC day. The window is widened to whole buckets (``from`` down, ``to``
up; both echoed back). JSON by default, CSV with ``Accept: text/csv`` or ``?format=csv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from analytics_api.csv_output import csv_response
from analytics_api.deps import AppContext, Context, MeterId, Reader, TimeWindow, VehicleId
from analytics_api.errors import InvalidParameter, NotFound
from analytics_api.models import Bucket, MeterPoint, MeterSeries, VehiclePoint, VehicleSeries
from analytics_api.routes import error_responses
from analytics_api.window import Window

router = APIRouter(tags=["telemetry"])

MAX_POINTS = 10_000
STEPS = {"1m": timedelta(minutes=1), "1h": timedelta(hours=1), "1d": timedelta(days=1)}
UNITS = {"1h": "hour", "1d": "day"}
VEHICLE_COLUMNS = ("ts", "samples", "kwhDeliveredDc", "socMin", "socMax", "batteryTempAvg", "batteryTempMax")
METER_COLUMNS = ("ts", "samples", "kwhConsumedAc", "voltageMin", "voltageMax", "voltageAvg")

BucketParam = Annotated[
    Bucket, Query(description="1m: raw readings per minute; 1h: hourly rollups; 1d: rollups by UTC day")
]
LimitParam = Annotated[
    int, Query(ge=1, le=MAX_POINTS, description="points to return; `nextFrom` tells where to continue")
]
FormatParam = Annotated[Literal["json", "csv"] | None, Query(description="overrides the Accept header")]
AcceptHeader = Annotated[str | None, Header()]
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV when asked"}
}


@dataclass(frozen=True, slots=True)
class Series:
    """The rows of one request, and where to continue if ``limit`` cut them."""

    window: Window
    rows: list[dict[str, Any]]
    next_from: datetime | None


def _wants_csv(fmt: str | None, accept: str | None) -> bool:
    return fmt == "csv" or (fmt is None and accept is not None and "text/csv" in accept.lower())


async def _series(
    ctx: AppContext, kind: str, device_id: str, window: Window, bucket: str, limit: int
) -> Series:
    buckets = window.rounded(STEPS[bucket])
    count = int(buckets.seconds // STEPS[bucket].total_seconds())
    if count > MAX_POINTS:
        raise InvalidParameter(
            "bucket",
            f"the window holds {count} buckets of {bucket}, more than {MAX_POINTS}; "
            "narrow from/to or choose a coarser bucket",
        )
    source = "raw" if bucket == "1m" else "rollup"
    params = {
        "device_id": device_id,
        "from": buckets.start,
        "to": buckets.end,
        "limit": limit + 1,
        "unit": UNITS.get(bucket, "minute"),
    }
    rows = await ctx.db.fetch_all(f"analytics_{kind}_series_{source}", params)
    if not rows:
        known = await ctx.db.fetch_one(f"analytics_{kind}_known", {"device_id": device_id})
        if known is None or not known["known"]:
            raise NotFound(f"unknown {kind} {device_id!r}")
    next_from = rows[limit]["ts"] if len(rows) > limit else None
    return Series(buckets, rows[:limit], next_from)


def _next_header(series: Series) -> dict[str, str]:
    if series.next_from is None:
        return {}
    return {"X-Next-From": series.next_from.isoformat().replace("+00:00", "Z")}  # no '+' to escape


@router.get(
    "/v1/vehicles/{vehicleId}/telemetry",
    response_model=VehicleSeries,
    responses={**error_responses(404), **_CSV},
    summary="A vehicle's readings in 1m, 1h or 1d buckets",
)
async def vehicle_telemetry(
    _: Reader,
    vehicle_id: VehicleId,
    window: TimeWindow,
    ctx: Context,
    bucket: BucketParam = "1m",
    limit: LimitParam = MAX_POINTS,
    format: FormatParam = None,
    accept: AcceptHeader = None,
) -> VehicleSeries | Response:
    """Energy sums, sample counts and SoC / battery temperature ranges per bucket."""
    series = await _series(ctx, "vehicle", vehicle_id, window, bucket, limit)
    points = [VehiclePoint(**r) for r in series.rows]
    if _wants_csv(format, accept):
        return csv_response(points, VEHICLE_COLUMNS, f"{vehicle_id}-{bucket}.csv", _next_header(series))
    return VehicleSeries(
        vehicle_id=vehicle_id,
        window_from=series.window.start,
        window_to=series.window.end,
        bucket=bucket,
        points=points,
        next_from=series.next_from,
    )


@router.get(
    "/v1/meters/{meterId}/telemetry",
    response_model=MeterSeries,
    responses={**error_responses(404), **_CSV},
    summary="A meter's readings in 1m, 1h or 1d buckets",
)
async def meter_telemetry(
    _: Reader,
    meter_id: MeterId,
    window: TimeWindow,
    ctx: Context,
    bucket: BucketParam = "1m",
    limit: LimitParam = MAX_POINTS,
    format: FormatParam = None,
    accept: AcceptHeader = None,
) -> MeterSeries | Response:
    """Energy sums, sample counts and voltage ranges per bucket."""
    series = await _series(ctx, "meter", meter_id, window, bucket, limit)
    points = [MeterPoint(**r) for r in series.rows]
    if _wants_csv(format, accept):
        return csv_response(points, METER_COLUMNS, f"{meter_id}-{bucket}.csv", _next_header(series))
    return MeterSeries(
        meter_id=meter_id,
        window_from=series.window.start,
        window_to=series.window.end,
        bucket=bucket,
        points=points,
        next_from=series.next_from,
    )
