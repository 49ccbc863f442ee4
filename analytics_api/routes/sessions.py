"""``GET /v1/vehicles/{vehicleId}/sessions``: a vehicle's charging sessions and their energy."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from analytics_api.csv_output import csv_response, wants_csv
from analytics_api.deps import Context, Reader, TimeWindow, VehicleId
from analytics_api.energy import efficiency
from analytics_api.errors import NotFound
from analytics_api.routes import error_responses
from analytics_api.session_models import SESSION_COLUMNS, ChargingSession, VehicleSessions

router = APIRouter(tags=["sessions"])

MAX_SESSIONS = 1000
MICROSECOND = timedelta(microseconds=1)
MAX_OFFSET = 1_000_000
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV when asked"}
}


def _spans(vehicle_id: str, rows: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The energy query's parameters: each session's (start, stop] (stop = now while open)
    as the half-open [start + 1 us, stop + 1 us) (timestamps are in microseconds)."""
    lo = [r["started_at"] + MICROSECOND for r in rows]
    hi = [max(r["stopped_at"] or now, r["started_at"]) + MICROSECOND for r in rows]
    return {
        "vehicle_id": vehicle_id,
        "idx": list(range(len(rows))),
        "meter_ids": [r["meter_id"] for r in rows],
        "lo": lo,
        "hi": hi,
        "lo_min": min(lo),
        "hi_max": max(hi),
    }


def _session(row: dict[str, Any], energy: dict[str, Any]) -> ChargingSession:
    ac: Decimal = energy["ac_kwh"]
    reported_dc = int(energy["vehicle_samples"]) > 0
    dc: Decimal | None = energy["dc_kwh"] if reported_dc else None
    return ChargingSession(
        charge_point_id=row["charge_point_id"],
        connector_id=row["connector_id"],
        meter_id=row["meter_id"],
        transaction_id=row["transaction_id"],
        id_tag=row["id_tag"],
        protocol=row["protocol"],
        start=row["started_at"],
        stop=row["stopped_at"],
        stop_reason=row["stop_reason"],
        kwh_consumed_ac=ac,
        kwh_delivered_dc=dc,
        efficiency_ratio=efficiency(dc, ac) if dc is not None else None,
        meter_samples=int(energy["meter_samples"]),
        vehicle_samples=int(energy["vehicle_samples"]),
    )


@router.get(
    "/v1/vehicles/{vehicleId}/sessions",
    response_model=VehicleSessions,
    responses={**error_responses(404), **_CSV},
    summary="A vehicle's charging sessions with AC from the register, DC and efficiency",
)
async def vehicle_sessions(
    _: Reader,
    vehicle_id: VehicleId,
    window: TimeWindow,
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=MAX_SESSIONS, description="sessions per page")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="sessions to skip")] = 0,
    format: Annotated[Literal["json", "csv"] | None, Query(description="overrides the Accept header")] = None,
    accept: Annotated[str | None, Header()] = None,
) -> VehicleSessions | Response:
    """Sessions overlapping ``[from, to)`` (default: the last 24 hours), oldest first, of the
    cards registered to the vehicle at each session's start. ``kwhConsumedAc`` is the
    connector meter's energy over the session's own span ``(start, stop]`` (the register's
    increases; up to now while open), ``kwhDeliveredDc`` the vehicle's over the same span."""
    now = ctx.clock()
    params = {
        "vehicle_id": vehicle_id,
        "from": window.start,
        "to": window.end,
        "limit": limit + 1,
        "offset": offset,
    }
    rows = await ctx.db.fetch_all("analytics_vehicle_sessions", params)
    if not rows:
        known = await ctx.db.fetch_one("analytics_vehicle_sessions_known", {"device_id": vehicle_id})
        if known is None or not known["known"]:
            raise NotFound(f"unknown vehicle {vehicle_id!r}")
    page = rows[:limit]
    energies = (
        await ctx.db.fetch_all("analytics_session_energy", _spans(vehicle_id, page, now)) if page else []
    )
    sessions = [_session(r, e) for r, e in zip(page, energies, strict=True)]
    next_offset = offset + limit if len(rows) > limit else None
    if wants_csv(format, accept):
        headers = {"X-Next-Offset": str(next_offset)} if next_offset is not None else {}
        return csv_response(sessions, SESSION_COLUMNS, f"{vehicle_id}-sessions.csv", headers)
    return VehicleSessions(
        vehicle_id=vehicle_id,
        window_from=window.start,
        window_to=window.end,
        limit=limit,
        offset=offset,
        next_offset=next_offset,
        sessions=sessions,
    )
