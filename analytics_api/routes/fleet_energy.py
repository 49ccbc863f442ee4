"""``GET /v1/fleet/energy``: the fleet's AC and DC energy and its low-efficiency count."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from analytics_api.deps import Context, Reader, TimeWindow
from analytics_api.energy import efficiency
from analytics_api.fleet_models import FleetEnergy
from analytics_api.routes import error_responses

router = APIRouter(tags=["fleet"])

HOUR = timedelta(hours=1)


@router.get(
    "/v1/fleet/energy",
    responses=error_responses(),
    summary="The fleet's energy (AC consumed, DC delivered) and low-efficiency vehicles, over whole hours",
)
async def fleet_energy(_: Reader, window: TimeWindow, ctx: Context) -> FleetEnergy:
    """The window is widened to whole UTC hours (both ends echoed back) and read from the
    hourly rollups, like the fleet ranking: the totals are the sums of the ranking's lines,
    and ``lowEfficiencyVehicles`` counts the lines it flags ``lowEfficiency``. AC counts meter
    energy taken while the meter was mapped to a vehicle; ``ratedVehicles`` had AC energy."""
    hours = window.rounded(HOUR)
    threshold = ctx.settings.low_efficiency_threshold
    row = await ctx.db.fetch_one(
        "analytics_fleet_energy", {"from": hours.start, "to": hours.end, "threshold": threshold}
    )
    assert row is not None  # an aggregate always returns one row
    return FleetEnergy(
        window_from=hours.start,
        window_to=hours.end,
        total_kwh_consumed_ac=row["ac_kwh"],
        total_kwh_delivered_dc=row["dc_kwh"],
        efficiency_ratio=efficiency(row["dc_kwh"], row["ac_kwh"]),
        vehicles=int(row["vehicles"]),
        rated_vehicles=int(row["rated"]),
        low_efficiency_vehicles=int(row["low_efficiency"]),
        low_efficiency_threshold=threshold,
    )
