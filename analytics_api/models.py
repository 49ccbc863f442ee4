"""Explicit request and response models; JSON field names are camelCase.

Energies and temperatures are summed as exact decimals (PostgreSQL ``numeric``) and turned
into JSON numbers only when serialised, so no float error accumulates in a sum.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel

from analytics_api.window import parse_rfc3339
from schemas.readings import ID_PATTERN


def _number(value: Decimal) -> float:
    return float(value)


Exact = Annotated[Decimal, PlainSerializer(_number, return_type=float, when_used="json")]
"""An exact decimal, sent as a JSON number."""


def _rfc3339(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 timestamp string with an offset")
    return parse_rfc3339(value)


Rfc3339 = Annotated[datetime, BeforeValidator(_rfc3339), Field(json_schema_extra={"format": "date-time"})]
"""A timestamp given as an RFC 3339 string with an offset (naive times and numbers rejected)."""

DeviceId = Annotated[str, Field(pattern=ID_PATTERN, min_length=1, max_length=64)]
Bucket = Literal["1m", "1h", "1d"]


class ApiModel(BaseModel):
    """camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class ErrorBody(ApiModel):
    """Every error answer."""

    error: str
    message: str
    parameter: str | None = None


class Health(ApiModel):
    """Liveness."""

    status: str


class Readiness(ApiModel):
    """Readiness, with the outcome of each check."""

    status: str
    checks: dict[str, bool]


class StreamCounts(ApiModel):
    """Readings per stream: the vehicle's own (DC) and its meters' (AC)."""

    vehicle: int
    meter: int


class StreamCoverage(ApiModel):
    """Readings received / readings expected at one per minute (null: nothing expected)."""

    vehicle: float | None
    meter: float | None


class Performance(ApiModel):
    """One vehicle's energy balance over ``[from, to)``."""

    vehicle_id: str
    window_from: datetime = Field(alias="from")
    window_to: datetime = Field(alias="to")
    total_kwh_consumed_ac: Exact
    total_kwh_delivered_dc: Exact
    efficiency_ratio: float | None
    avg_battery_temp: Exact | None
    meter_ids: list[str]
    samples: StreamCounts
    data_coverage: StreamCoverage
    low_efficiency: bool | None


class VehicleEfficiency(ApiModel):
    """One line of the fleet ranking."""

    vehicle_id: str
    total_kwh_consumed_ac: Exact
    total_kwh_delivered_dc: Exact
    efficiency_ratio: float | None
    low_efficiency: bool | None
    samples: StreamCounts
    data_coverage: StreamCoverage


class FleetEfficiency(ApiModel):
    """Vehicles ranked by efficiency, worst first (no ratio: last), over whole hours.

    ``asOf``: the answer holds every reading committed before then (at most
    ``FLEET_CACHE_TTL_S`` earlier than the request)."""

    as_of: datetime
    window_from: datetime = Field(alias="from")
    window_to: datetime = Field(alias="to")
    granularity: Literal["hour"] = "hour"
    total_vehicles: int
    vehicles: list[VehicleEfficiency]


class VehicleFleet(ApiModel):
    """Vehicle counts of the fleet summary."""

    total: int
    reporting: int
    charging: int
    stale: int
    offline: int
    mean_soc: float | None


class MeterFleet(ApiModel):
    """Meter counts of the fleet summary."""

    total: int
    reporting: int
    stale: int
    offline: int


class FleetSummary(ApiModel):
    """The fleet right now, from the hot status tables.

    ``stale`` devices were not heard from within the reporting window; ``offline`` ones
    not within ``offlineAfterSeconds`` (listed by ``GET /v1/fleet/offline``)."""

    as_of: datetime
    reporting_window_seconds: int
    offline_after_seconds: int
    vehicles: VehicleFleet
    meters: MeterFleet


class VehicleStatus(ApiModel):
    """A vehicle's newest reading (``timestamp`` is the reading time)."""

    vehicle_id: str
    timestamp: datetime
    soc: float
    kwh_delivered_dc: Exact
    battery_temp: Exact
    received_at: datetime | None
    updated_at: datetime
    age_seconds: float
    stale: bool


class MeterStatus(ApiModel):
    """A meter's newest reading (``timestamp`` is the reading time).

    ``kwhConsumedAc``: the reading's interval energy (for a register reading, the increase
    over the previous register reading); ``kwhRegisterAc``: the register value of a
    register reading (null for an interval reading); ``voltage``: null when not measured."""

    meter_id: str
    timestamp: datetime
    kwh_consumed_ac: Exact
    kwh_register_ac: Exact | None = None
    voltage: float | None
    received_at: datetime | None
    updated_at: datetime
    age_seconds: float
    stale: bool


class MappingIn(ApiModel):
    """Body of ``PUT /v1/mappings/meters/{meterId}``."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    vehicle_id: DeviceId
    valid_from: Rfc3339 | None = None


class Mapping(ApiModel):
    """One validity range ``[validFrom, validTo)`` of a meter; null ends are unbounded.

    ``source``: ``manual`` (an admin's PUT) or ``ocpp`` (derived from the charging session
    ``transactionId``; its range is ``(validFrom, validTo]``, the session's span minus any
    manual range: docs/sessions.md)."""

    vehicle_id: str
    valid_from: datetime | None
    valid_to: datetime | None
    created_at: datetime
    source: Literal["manual", "ocpp"] = "manual"
    transaction_id: str | None = None


class MeterMappings(ApiModel):
    """A meter's mappings, newest first; ``current`` is the one in force now."""

    meter_id: str
    current: Mapping | None
    mappings: list[Mapping]


class MappingResult(ApiModel):
    """The outcome of a PUT: the open range, and the one it closed (if any)."""

    meter_id: str
    changed: bool
    current: Mapping
    closed: Mapping | None


class VehiclePoint(ApiModel):
    """One bucket of a vehicle's series."""

    ts: datetime
    samples: int
    kwh_delivered_dc: Exact
    soc_min: float
    soc_max: float
    battery_temp_avg: Exact
    battery_temp_max: Exact


class MeterPoint(ApiModel):
    """One bucket of a meter's series."""

    ts: datetime
    samples: int
    kwh_consumed_ac: Exact
    voltage_min: float | None  # null: no reading of the bucket had a voltage
    voltage_max: float | None
    voltage_avg: float | None  # over the readings that had one


class VehicleSeries(ApiModel):
    """A vehicle's readings in buckets; ``nextFrom`` is set when ``limit`` cut the series."""

    vehicle_id: str
    window_from: datetime = Field(alias="from")
    window_to: datetime = Field(alias="to")
    bucket: Bucket
    points: list[VehiclePoint]
    next_from: datetime | None


class MeterSeries(ApiModel):
    """A meter's readings in buckets; ``nextFrom`` is set when ``limit`` cut the series."""

    meter_id: str
    window_from: datetime = Field(alias="from")
    window_to: datetime = Field(alias="to")
    bucket: Bucket
    points: list[MeterPoint]
    next_from: datetime | None


DeviceKind = Literal["meter", "vehicle"]


class OfflineDevice(ApiModel):
    """A device from which nothing has been received for longer than the threshold."""

    kind: DeviceKind
    id: str
    last_reading_at: datetime = Field(description="reading time of its newest reading")
    last_received_at: datetime = Field(description="when the newest reading was received")
    silent_seconds: float = Field(description="seconds since lastReceivedAt")


class OfflineDevices(ApiModel):
    """One page of the silent devices, the most recently silent first."""

    as_of: datetime
    silent_for_seconds: int
    total: int = Field(description="silent devices of the requested kind(s), on every page")
    limit: int
    offset: int
    devices: list[OfflineDevice]
