"""``GET /v1/vehicles/{vehicleId}/status`` and ``GET /v1/meters/{meterId}/status``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from analytics_api.deps import AppContext, Context, MeterId, Reader, VehicleId
from analytics_api.errors import NotFound
from analytics_api.models import MeterStatus, VehicleStatus
from analytics_api.routes import error_responses

router = APIRouter(tags=["status"])


def _freshness(ctx: AppContext, row: dict[str, Any]) -> dict[str, Any]:
    seen: datetime = row["received_at"] or row["updated_at"]
    age = max(0.0, (ctx.clock() - seen).total_seconds())
    return {"age_seconds": age, "stale": age > ctx.settings.stale_after_s}


@router.get(
    "/v1/vehicles/{vehicleId}/status", responses=error_responses(404), summary="A vehicle's newest reading"
)
async def vehicle_status(_: Reader, vehicle_id: VehicleId, ctx: Context) -> VehicleStatus:
    """From the hot table; ``stale`` when nothing arrived for ``STALE_AFTER_S``."""
    row = await ctx.db.fetch_one("analytics_vehicle_status", {"vehicle_id": vehicle_id})
    if row is None:
        raise NotFound(f"unknown vehicle {vehicle_id!r}")
    return VehicleStatus(**row, **_freshness(ctx, row))


@router.get("/v1/meters/{meterId}/status", responses=error_responses(404), summary="A meter's newest reading")
async def meter_status(_: Reader, meter_id: MeterId, ctx: Context) -> MeterStatus:
    """From the hot table; ``stale`` when nothing arrived for ``STALE_AFTER_S``."""
    row = await ctx.db.fetch_one("analytics_meter_status", {"meter_id": meter_id})
    if row is None:
        raise NotFound(f"unknown meter {meter_id!r}")
    return MeterStatus(**row, **_freshness(ctx, row))
