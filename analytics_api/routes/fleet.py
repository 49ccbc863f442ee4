"""``GET /v1/fleet/summary`` and ``GET /v1/analytics/fleet/efficiency``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from analytics_api.deps import Context, Reader, TimeWindow
from analytics_api.energy import coverage, efficiency, is_low
from analytics_api.fleet_answers import MAX_LIMIT
from analytics_api.models import (
    FleetEfficiency,
    FleetSummary,
    MeterFleet,
    StreamCounts,
    StreamCoverage,
    VehicleEfficiency,
    VehicleFleet,
)
from analytics_api.routes import error_responses

router = APIRouter(tags=["fleet"])

HOUR = timedelta(hours=1)


@router.get(
    "/v1/fleet/summary", responses=error_responses(), summary="Reporting, charging and stale devices now"
)
async def fleet_summary(_: Reader, ctx: Context) -> FleetSummary:
    """Devices heard from within ``STALE_AFTER_S`` (default 5 minutes) are reporting; the rest are stale."""
    now = ctx.clock()
    window = ctx.settings.stale_after_s
    offline_after = ctx.settings.offline_after_s
    row = await ctx.db.fetch_one(
        "analytics_fleet_summary",
        {"since": now - timedelta(seconds=window), "offline_before": now - timedelta(seconds=offline_after)},
    )
    assert row is not None  # an aggregate always returns one row
    mean_soc = row["mean_soc"]
    return FleetSummary(
        as_of=now,
        reporting_window_seconds=window,
        offline_after_seconds=offline_after,
        vehicles=VehicleFleet(
            total=row["vehicles_total"],
            reporting=row["vehicles_reporting"],
            charging=row["vehicles_charging"],
            stale=row["vehicles_total"] - row["vehicles_reporting"],
            offline=row["vehicles_offline"],
            mean_soc=float(mean_soc) if mean_soc is not None else None,
        ),
        meters=MeterFleet(
            total=row["meters_total"],
            reporting=row["meters_reporting"],
            stale=row["meters_total"] - row["meters_reporting"],
            offline=row["meters_offline"],
        ),
    )


@router.get(
    "/v1/analytics/fleet/efficiency",
    responses=error_responses(),
    summary="Vehicles ranked by efficiency (DC / AC), worst first, over whole hours",
)
async def fleet_efficiency(
    _: Reader,
    window: TimeWindow,
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="vehicles to return")] = 50,
) -> FleetEfficiency:
    """The window is widened to whole UTC hours (``from`` down, ``to`` up; both echoed back), so
    the ranking comes from the hourly rollups; it is exact for that widened window, including
    meters re-mapped inside an hour. Vehicles without AC energy (no ratio) come last. It
    reads two hourly rows per device whatever the window's length (their running totals).
    The same window's answer (any
    ``limit``) is reused for ``FLEET_CACHE_TTL_S`` seconds (default 10) and, while the window is
    asked for, recomputed in the background before then: it holds every reading committed
    before ``asOf`` and may miss those stored since."""
    hours = window.rounded(HOUR)
    answer = await ctx.fleet.get(hours.start, hours.end, limit)
    threshold = ctx.settings.low_efficiency_threshold
    vehicles = []
    for r in answer.rows[:limit]:
        ratio = efficiency(r["dc_kwh"], r["ac_kwh"])
        vehicles.append(
            VehicleEfficiency(
                vehicle_id=r["vehicle_id"],
                total_kwh_consumed_ac=r["ac_kwh"],
                total_kwh_delivered_dc=r["dc_kwh"],
                efficiency_ratio=ratio,
                low_efficiency=is_low(ratio, threshold),
                samples=StreamCounts(vehicle=int(r["dc_n"]), meter=int(r["ac_n"])),
                data_coverage=StreamCoverage(
                    vehicle=coverage(int(r["dc_n"]), hours.seconds),
                    meter=coverage(int(r["ac_n"]), float(r["mapped_seconds"])),
                ),
            )
        )
    return FleetEfficiency(
        as_of=answer.as_of,
        window_from=hours.start,
        window_to=hours.end,
        total_vehicles=answer.totals.vehicles,
        vehicles=vehicles,
    )
