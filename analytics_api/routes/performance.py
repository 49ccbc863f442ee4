"""``GET /v1/analytics/performance/{vehicleId}``: one vehicle's energy balance."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter

from analytics_api.deps import AppContext, Context, Reader, TimeWindow, VehicleId
from analytics_api.energy import coverage, efficiency, is_low
from analytics_api.errors import NotFound
from analytics_api.models import Performance, StreamCounts, StreamCoverage
from analytics_api.routes import error_responses
from analytics_api.window import Window

router = APIRouter(tags=["analytics"])
PATH = "/v1/analytics/performance/{vehicleId}"


@router.get(
    PATH,
    responses=error_responses(404),
    summary="Energy delivered (DC) versus consumed by the vehicle's meters (AC) over [from, to)",
)
async def performance(_: Reader, vehicle_id: VehicleId, window: TimeWindow, ctx: Context) -> Performance:
    """Exact sums over the raw readings, served from hourly rollups plus the window's edges.

    Each meter reading counts for the vehicle its meter was mapped to at the reading's time.
    """
    return await answer(ctx, vehicle_id, window)


async def answer(ctx: AppContext, vehicle_id: str, window: Window) -> Performance:
    """The route's answer (also served by :mod:`analytics_api.fastpath`)."""
    row = await ctx.db.fetch_one(
        "analytics_performance",
        {"vehicle_id": vehicle_id, "from": window.start, "to": window.end},
        generic_plan=True,
    )
    if row is None or not row["known"]:
        raise NotFound(f"unknown vehicle {vehicle_id!r}: no status, history or mapped meter")
    ac: Decimal = row["ac_kwh"]
    dc: Decimal = row["dc_kwh"]
    n_vehicle = int(row["vehicle_samples"])
    ratio = efficiency(dc, ac)
    return Performance(
        vehicle_id=vehicle_id,
        window_from=window.start,
        window_to=window.end,
        total_kwh_consumed_ac=ac,
        total_kwh_delivered_dc=dc,
        efficiency_ratio=ratio,
        avg_battery_temp=row["temp_sum"] / n_vehicle if n_vehicle else None,
        meter_ids=list(row["meter_ids"]),
        samples=StreamCounts(vehicle=n_vehicle, meter=int(row["meter_samples"])),
        data_coverage=StreamCoverage(
            vehicle=coverage(n_vehicle, window.seconds),
            meter=coverage(int(row["meter_samples"]), float(row["mapped_seconds"])),
        ),
        low_efficiency=is_low(ratio, ctx.settings.low_efficiency_threshold),
    )
