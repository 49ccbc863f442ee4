"""Response models of the fleet energy, vehicle listing and vehicle energy endpoints
(the dashboard's data); JSON field names are camelCase like the rest of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from analytics_api.models import ApiModel, Exact

VehicleState = Literal["charging", "idle", "stale", "offline"]
"""``offline``: nothing received for ``OFFLINE_AFTER_S``; ``stale``: not within
``STALE_AFTER_S``; ``charging``: reporting and its newest reading delivered energy; else ``idle``."""


class FleetEnergy(ApiModel):
    """The fleet's energy over whole UTC hours, and its low-efficiency count.

    ``asOf``: the answer holds every reading committed before then (at most
    ``FLEET_CACHE_TTL_S`` earlier than the request)."""

    as_of: datetime
    window_from: datetime = Field(alias="from")
    window_to: datetime = Field(alias="to")
    granularity: Literal["hour"] = "hour"
    total_kwh_consumed_ac: Exact
    total_kwh_delivered_dc: Exact
    efficiency_ratio: float | None
    vehicles: int
    rated_vehicles: int
    low_efficiency_vehicles: int
    low_efficiency_threshold: float


class VehicleRow(ApiModel):
    """One vehicle of the listing: its state now and its energy over the listing's window."""

    vehicle_id: str
    status: VehicleState
    soc: float
    timestamp: datetime
    last_seen: datetime
    seconds_silent: float
    offline: bool
    total_kwh_consumed_ac: Exact
    total_kwh_delivered_dc: Exact
    efficiency_ratio: float | None
    low_efficiency: bool | None


class VehicleList(ApiModel):
    """One page of the fleet's vehicles; energy over ``[from, to)`` (whole UTC hours)."""

    as_of: datetime
    window_from: datetime = Field(alias="from")
    window_to: datetime = Field(alias="to")
    sort: str
    limit: int
    offset: int
    total: int
    vehicles: list[VehicleRow]


class HourEnergy(ApiModel):
    """One UTC hour of a vehicle: AC consumed by its mapped meters, DC delivered, SoC range."""

    ts: datetime
    kwh_consumed_ac: Exact
    kwh_delivered_dc: Exact
    soc_min: float | None
    soc_max: float | None


class VehicleEnergy(ApiModel):
    """A vehicle's energy per hour over ``[from, to)`` (whole UTC hours)."""

    vehicle_id: str
    window_from: datetime = Field(alias="from")
    window_to: datetime = Field(alias="to")
    points: list[HourEnergy]
