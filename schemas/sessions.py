"""Charging-session events: what an OCPP transaction tells the rest of the system.

The gateway's OCPP front door publishes one event per transaction step to
``telemetry.session.v1``, keyed by the connector's meter id (so a transaction's events
stay in order on one partition). The energy itself never travels here: the register
values of StartTransaction/StopTransaction/MeterValues (1.6) and TransactionEvent (2.0.1)
are published as meter readings (``kwhRegisterAc``) on the meter topic, keyed by the
same meter id. The consumer stores sessions and derives idTag -> vehicle mappings.

- ``chargePointId``: the OCPP charge point identity (the URL path), an id as in readings;
- ``connectorId``: the 1.6 connector id, or the 2.0.1 EVSE id (>= 1);
- ``meterId``: ``{chargePointId}:{connectorId}``, the meter the readings are keyed by;
- ``transactionId``: the transaction's id, unique per charge point (1.6: the integer the
  gateway assigned in StartTransaction.conf, as a string; 2.0.1: the charge point's);
- ``event``: ``started``, ``updated`` (2.0.1 Updated events that matter, e.g. an idToken
  that arrives late) or ``ended``;
- ``idTag``: the card (1.6 idTag, 2.0.1 idToken.idToken), when known;
- ``timestamp``: when the step happened by the charge point's clock (start or stop time);
- ``stopReason``: the OCPP reason on ``ended``, when given.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from schemas.readings import DeviceId

ID_TAG_PATTERN = r"^[\x21-\x7e]{1,36}$"
IdTag = Annotated[str, Field(pattern=ID_TAG_PATTERN)]
TransactionId = Annotated[str, Field(pattern=r"^[\x21-\x7e]{1,36}$")]


class SessionEvent(BaseModel):
    """One step of an OCPP transaction, as published to the session topic."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)

    type: Literal["session"]
    protocol: Literal["ocpp1.6", "ocpp2.0.1"]
    chargePointId: DeviceId
    connectorId: Annotated[int, Field(ge=1, le=1_000)]
    meterId: DeviceId
    transactionId: TransactionId
    event: Literal["started", "updated", "ended"]
    idTag: IdTag | None = None
    timestamp: AwareDatetime
    stopReason: Annotated[str, Field(max_length=64)] | None = None
    receivedAt: Annotated[int, Field(ge=0)] | None = None


SESSION_ADAPTER: TypeAdapter[SessionEvent] = TypeAdapter(SessionEvent)


def meter_id_for(charge_point_id: str, connector_id: int) -> str:
    """The meter id a charge point's connector (1.6) or EVSE (2.0.1) reports under."""
    return f"{charge_point_id}:{connector_id}"
