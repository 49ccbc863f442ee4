"""Telemetry readings as devices send them (camelCase kept from the seed).

Physical bounds, documented here because they are part of the contract:

- ids: 1 to 64 characters of letters, digits and ``._:-``;
- energies (``kwhConsumedAc``, ``kwhDeliveredDc``): kWh of the reporting interval,
  0 to 1,000 kWh (a one-minute interval above that is a broken counter, not a charger);
- ``voltage``: AC RMS volts, 0 to 1,000 V (covers 120 V to 480 V three-phase with margin);
- ``soc``: state of charge, 0 to 100 %;
- ``batteryTemp``: -50 to 120 degrees Celsius;
- ``timestamp``: RFC 3339 with an offset (a naive time is rejected), normalised to UTC,
  at most ``max_future_skew`` (default 5 minutes) ahead of the receiver's clock. These
  two rules need the receive time, so ``schemas.clock`` applies them after validation
  (``validate_reading_json`` and ``decode_kafka_value`` do both steps).

All numbers must be finite JSON numbers (strings, booleans, NaN and infinities are
rejected). Unknown fields are rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,64}$"
KWH_MAX = 1000.0
VOLTAGE_MAX_V = 1000.0
BATTERY_TEMP_MIN_C = -50.0
BATTERY_TEMP_MAX_C = 120.0
DEFAULT_MAX_FUTURE_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ValidationClock:
    """What "now" is while validating (the receive time), for ``schemas.clock``.

    ``now=None`` skips the future-skew rule (used when the receive time is unknown).
    """

    now: datetime | None
    max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW

    @property
    def latest(self) -> datetime | None:
        """The latest acceptable timestamp (None: the skew is not judged)."""
        return None if self.now is None else self.now + self.max_future_skew


DeviceId = Annotated[str, Field(pattern=ID_PATTERN, min_length=1, max_length=64)]
# Normalised to UTC and judged against the receiver's clock by ``schemas.clock``.
Timestamp = AwareDatetime
Energy = Annotated[float, Field(ge=0.0, le=KWH_MAX)]

_MODEL_CONFIG = ConfigDict(
    extra="forbid",
    strict=True,
    frozen=True,
    allow_inf_nan=False,
    populate_by_name=False,
)


class MeterReading(BaseModel):
    """A smart meter's AC reading for one interval."""

    model_config = _MODEL_CONFIG

    type: Literal["meter"]
    meterId: DeviceId
    kwhConsumedAc: Energy
    voltage: Annotated[float, Field(ge=0.0, le=VOLTAGE_MAX_V)]
    timestamp: Timestamp

    @property
    def device_id(self) -> str:
        return self.meterId


class VehicleReading(BaseModel):
    """An electric vehicle's DC reading for one interval."""

    model_config = _MODEL_CONFIG

    type: Literal["vehicle"]
    vehicleId: DeviceId
    soc: Annotated[float, Field(ge=0.0, le=100.0)]
    kwhDeliveredDc: Energy
    batteryTemp: Annotated[float, Field(ge=BATTERY_TEMP_MIN_C, le=BATTERY_TEMP_MAX_C)]
    timestamp: Timestamp

    @property
    def device_id(self) -> str:
        return self.vehicleId


Reading = Annotated[MeterReading | VehicleReading, Field(discriminator="type")]


def device_id_of(reading: MeterReading | VehicleReading) -> str:
    """The Kafka key and identity prefix of a reading."""
    return reading.meterId if isinstance(reading, MeterReading) else reading.vehicleId
