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
    """The window is widened to whole UTC hours (both ends echoed back) and answered with the
    fleet ranking's answer for that window (the same query, kept and refreshed the same way):
    the totals are the sums of the ranking's lines over every vehicle, and
    ``lowEfficiencyVehicles`` counts those whose DC / AC is below the threshold. AC counts meter
    energy taken while the meter was mapped to a vehicle; ``ratedVehicles`` had AC energy."""
    hours = window.rounded(HOUR)
    answer = await ctx.fleet.get(hours.start, hours.end, 0)  # its totals only
    t = answer.totals
    return FleetEnergy(
        as_of=answer.as_of,
        window_from=hours.start,
        window_to=hours.end,
        total_kwh_consumed_ac=t.ac_kwh,
        total_kwh_delivered_dc=t.dc_kwh,
        efficiency_ratio=efficiency(t.dc_kwh, t.ac_kwh),
        vehicles=t.vehicles,
        rated_vehicles=t.rated,
        low_efficiency_vehicles=t.low_efficiency,
        low_efficiency_threshold=ctx.settings.low_efficiency_threshold,
    )
