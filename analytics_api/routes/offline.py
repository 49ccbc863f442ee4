"""``GET /v1/fleet/offline``: the devices that have gone silent."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from analytics_api.deps import Context, Reader
from analytics_api.models import DeviceKind, OfflineDevice, OfflineDevices
from analytics_api.routes import error_responses

router = APIRouter(tags=["fleet"])

MAX_SILENCE_S = 10 * 366 * 86400  # ten years: any longer is not a silence but a typo


@router.get(
    "/v1/fleet/offline",
    responses=error_responses(),
    summary="Devices from which nothing has been received for longer than silentFor, newest silence first",
)
async def fleet_offline(
    _: Reader,
    ctx: Context,
    silent_for: Annotated[
        int | None,
        Query(
            alias="silentFor",
            ge=1,
            le=MAX_SILENCE_S,
            description="seconds without a reading received (default: OFFLINE_AFTER_S, 900)",
        ),
    ] = None,
    kind: Annotated[DeviceKind | None, Query(description="only meters or only vehicles")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="devices per page")] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="devices to skip")] = 0,
) -> OfflineDevices:
    """Reads the hot status tables only (one row per device). A device is silent when its
    newest reading was received (by the gateway's clock) before ``now - silentFor``; the
    list is ordered by that time, newest first, then by kind and id, so pages are stable."""
    now = ctx.clock()
    seconds = silent_for if silent_for is not None else ctx.settings.offline_after_s
    before = now - timedelta(seconds=seconds)
    counts = await ctx.db.fetch_one("analytics_fleet_offline_count", {"before": before})
    assert counts is not None  # an aggregate always returns one row
    total = {"meter": counts["meters"], "vehicle": counts["vehicles"]}
    rows = await ctx.db.fetch_all(
        "analytics_fleet_offline", {"before": before, "kind": kind, "limit": limit, "offset": offset}
    )
    return OfflineDevices(
        as_of=now,
        silent_for_seconds=seconds,
        total=total[kind] if kind is not None else total["meter"] + total["vehicle"],
        limit=limit,
        offset=offset,
        devices=[
            OfflineDevice(
                kind=r["kind"],
                id=r["device_id"],
                last_reading_at=r["ts"],
                last_received_at=r["seen"],
                silent_seconds=(now - r["seen"]).total_seconds(),
            )
            for r in rows
        ],
    )
