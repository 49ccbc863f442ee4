"""``GET /v1/vehicles`` (the fleet's vehicles, paged and sorted) and
``GET /v1/vehicles/{vehicleId}/energy`` (a vehicle's AC and DC energy per hour)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from psycopg import sql as pgsql

from analytics_api.deps import AppContext, Context, Reader, TimeWindow, VehicleId
from analytics_api.energy import efficiency, is_low
from analytics_api.errors import NotFound
from analytics_api.fleet_models import HourEnergy, VehicleEnergy, VehicleList, VehicleRow, VehicleState
from analytics_api.routes import error_responses
from sql import query

router = APIRouter(tags=["fleet"])

HOUR = timedelta(hours=1)

SortKey = Literal["vehicleId", "-vehicleId", "soc", "-soc", "lastSeen", "-lastSeen"]
_COLUMNS = {"vehicleId": "vehicle_id", "soc": "soc", "lastSeen": "seen"}
"""The only columns an ORDER BY is made of: request text never reaches the SQL."""
MAX_OFFSET = 10_000_000


def order_by(sort: SortKey) -> pgsql.Composed:
    """``ORDER BY`` of ``sort`` (``-`` first: descending); ties in vehicle id order."""
    column = pgsql.Identifier(_COLUMNS[sort.removeprefix("-")])
    direction = pgsql.SQL("DESC" if sort.startswith("-") else "ASC")
    return pgsql.SQL("{} {}, vehicle_id ASC").format(column, direction)


def _state(ctx: AppContext, row: dict[str, Any], now: datetime) -> tuple[VehicleState, float]:
    """The state of a status row, as the fleet summary counts it, and seconds since it was seen."""
    since = now - timedelta(seconds=ctx.settings.stale_after_s)
    silent = max(0.0, (now - row["seen"]).total_seconds())
    if silent > ctx.settings.offline_after_s:
        return "offline", silent
    if row["seen"] < since:
        return "stale", silent
    if row["timestamp"] >= since and row["kwh_delivered_dc"] > 0:
        return "charging", silent
    return "idle", silent


@router.get("/v1/vehicles", responses=error_responses(), summary="The fleet's vehicles, paged and sorted")
async def list_vehicles(
    _: Reader,
    window: TimeWindow,
    ctx: Context,
    sort: Annotated[
        SortKey, Query(description="column to sort by; a leading '-' sorts descending")
    ] = "vehicleId",
    limit: Annotated[int, Query(ge=1, le=500, description="vehicles per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="vehicles to skip")] = 0,
) -> VehicleList:
    """From the hot status table (one row per vehicle), with each listed vehicle's energy and
    efficiency over ``[from, to)`` widened to whole UTC hours (default: the last 24 hours), read
    for that page's vehicles only. ``status`` and ``offline`` follow the fleet summary's rules."""
    now = ctx.clock()
    hours = window.rounded(HOUR)
    async with ctx.db.reader_connection() as conn:
        total = await (await conn.execute(query("analytics_vehicle_count"))).fetchone()
        page = query("analytics_vehicle_list").format(order=order_by(sort))
        rows = await (await conn.execute(page, {"limit": limit, "offset": offset})).fetchall()
        ids = [r["vehicle_id"] for r in rows]
        energy_rows = await (
            await conn.execute(
                query("analytics_vehicle_page_energy"), {"ids": ids, "from": hours.start, "to": hours.end}
            )
        ).fetchall()
    energy = {e["vehicle_id"]: e for e in energy_rows}
    threshold = ctx.settings.low_efficiency_threshold
    vehicles = []
    for r in rows:
        e = energy.get(r["vehicle_id"])
        ac: Decimal = e["ac_kwh"] if e else Decimal(0)
        dc: Decimal = e["dc_kwh"] if e else Decimal(0)
        ratio = efficiency(dc, ac)
        state, silent = _state(ctx, r, now)
        vehicles.append(
            VehicleRow(
                vehicle_id=r["vehicle_id"],
                status=state,
                soc=r["soc"],
                timestamp=r["timestamp"],
                last_seen=r["seen"],
                seconds_silent=silent,
                offline=state == "offline",
                total_kwh_consumed_ac=ac,
                total_kwh_delivered_dc=dc,
                efficiency_ratio=ratio,
                low_efficiency=is_low(ratio, threshold),
            )
        )
    return VehicleList(
        as_of=now,
        window_from=hours.start,
        window_to=hours.end,
        sort=sort,
        limit=limit,
        offset=offset,
        total=int(total["total"]) if total else 0,
        vehicles=vehicles,
    )


@router.get(
    "/v1/vehicles/{vehicleId}/energy",
    responses=error_responses(404),
    summary="A vehicle's AC consumed (by its mapped meters) and DC delivered per UTC hour",
)
async def vehicle_energy(_: Reader, vehicle_id: VehicleId, window: TimeWindow, ctx: Context) -> VehicleEnergy:
    """One point per UTC hour of ``[from, to)`` widened to whole hours (default: the last 24
    hours), hours without readings included as zero. Each meter reading counts for the vehicle
    its meter was mapped to at the reading's time, as in the performance endpoint."""
    hours = window.rounded(HOUR)
    known = await ctx.db.fetch_one("analytics_vehicle_known", {"device_id": vehicle_id})
    if known is None or not known["known"]:
        raise NotFound(f"unknown vehicle {vehicle_id!r}")
    rows = await ctx.db.fetch_all(
        "analytics_vehicle_hourly_energy", {"vehicle_id": vehicle_id, "from": hours.start, "to": hours.end}
    )
    return VehicleEnergy(
        vehicle_id=vehicle_id,
        window_from=hours.start,
        window_to=hours.end,
        points=[HourEnergy(**r) for r in rows],
    )
