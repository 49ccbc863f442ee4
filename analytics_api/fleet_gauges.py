"""Fleet gauges (devices, offline devices per kind), counted from the hot tables at scrape time."""

from __future__ import annotations

import logging
from datetime import timedelta

from analytics_api import metrics
from analytics_api.deps import AppContext
from analytics_api.errors import ApiError

log = logging.getLogger(__name__)


async def refresh(ctx: AppContext) -> None:
    """Set the gauges from one query of the status tables; keep the old values if it fails.

    Counting at scrape time (one bounded query over one row per device) keeps the gauges
    exactly as fresh as Prometheus asks, with no background task."""
    now = ctx.clock()
    params = {
        "since": now - timedelta(seconds=ctx.settings.stale_after_s),
        "offline_before": now - timedelta(seconds=ctx.settings.offline_after_s),
    }
    try:
        row = await ctx.db.fetch_one("analytics_fleet_summary", params)
    except ApiError as exc:
        log.warning("fleet gauges not refreshed: %s", exc.message)
        return
    assert row is not None  # an aggregate always returns one row
    for kind, prefix in (("meter", "meters"), ("vehicle", "vehicles")):
        metrics.DEVICES.labels(kind).set(row[f"{prefix}_total"])
        metrics.OFFLINE.labels(kind).set(row[f"{prefix}_offline"])
