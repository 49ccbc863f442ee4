"""Models of the charging-session routes: cards (idTags) and a vehicle's sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from analytics_api.models import ApiModel, DeviceId, Exact
from schemas.sessions import ID_TAG_PATTERN

SESSION_COLUMNS = (
    "chargePointId",
    "connectorId",
    "meterId",
    "transactionId",
    "idTag",
    "protocol",
    "start",
    "stop",
    "stopReason",
    "kwhConsumedAc",
    "kwhDeliveredDc",
    "efficiencyRatio",
    "meterSamples",
    "vehicleSamples",
)
"""The CSV columns of ``GET /v1/vehicles/{vehicleId}/sessions``, in order."""

IdTagText = Annotated[str, Field(pattern=ID_TAG_PATTERN)]


class IdTagIn(ApiModel):
    """Body of ``PUT /v1/idtags/{idTag}``."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    vehicle_id: DeviceId


class IdTagRangeOut(ApiModel):
    """One range ``[validFrom, validTo)`` in which the card belonged to ``vehicleId``."""

    vehicle_id: str
    valid_from: datetime | None
    valid_to: datetime | None
    created_at: datetime


class IdTagResult(ApiModel):
    """What a PUT did: ``created`` (201) for a first registration, ``changed`` otherwise."""

    id_tag: str
    vehicle_id: str
    created: bool
    changed: bool
    current: IdTagRangeOut
    closed: IdTagRangeOut | None
    sessions_remapped: int = Field(description="sessions of this card whose meter mapping was recomputed")


class IdTagInfo(ApiModel):
    """A card's vehicle now (``current``, null if none) and every range, newest first."""

    id_tag: str
    current: IdTagRangeOut | None
    history: list[IdTagRangeOut]


class ChargingSession(ApiModel):
    """One charging session and its energy over ``(start, stop]`` (``stop`` null while open:
    the energies are then up to now). ``kwhDeliveredDc`` and ``efficiencyRatio`` are null
    when the vehicle reported no DC reading in the span."""

    charge_point_id: str
    connector_id: int
    meter_id: str
    transaction_id: str
    id_tag: str
    protocol: str
    start: datetime
    stop: datetime | None
    stop_reason: str | None
    kwh_consumed_ac: Exact
    kwh_delivered_dc: Exact | None
    efficiency_ratio: float | None
    meter_samples: int
    vehicle_samples: int


class VehicleSessions(ApiModel):
    """A vehicle's sessions overlapping ``[from, to)``, oldest first, one page."""

    vehicle_id: str
    window_from: datetime = Field(alias="from")
    window_to: datetime = Field(alias="to")
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page; null on the last one")
    sessions: list[ChargingSession]
