"""Telemetry readings as devices send them (camelCase kept from the seed).

Physical bounds, documented here because they are part of the contract:

- ids: 1 to 64 characters of letters, digits and ``._:-``;
- energies (``kwhConsumedAc``, ``kwhDeliveredDc``): kWh of the reporting interval,
  0 to 1,000 kWh (a one-minute interval above that is a broken counter, not a charger);
- ``kwhRegisterAc``: a meter's lifetime import register (OCPP
  ``Energy.Active.Import.Register``, a smart meter's total), 0 to 1e9 kWh (a million MWh:
  more than any charger's life). A meter reading carries exactly one of ``kwhConsumedAc``
  or ``kwhRegisterAc``; the energy of a register reading is derived from the meter's
  previous register reading in time order when stored (docs/registers.md);
- ``voltage``: AC RMS volts, 0 to 1,000 V (covers 120 V to 480 V three-phase with margin);
  optional on a meter reading (absent or null: not measured; OCPP chargers often send no
  Voltage measurand) and then stored as NULL, never invented;
- ``soc``: state of charge, 0 to 100 %;
- ``batteryTemp``: -50 to 120 degrees Celsius;
- ``timestamp``: RFC 3339 with an offset (a naive time is rejected), normalised to UTC,
  at most ``max_future_skew`` (default 5 minutes) ahead of the receiver's clock, not before
  the floor (default 2000-01-01), optionally not older than a max past age or the retention
  horizon (``schemas.timerules``). These rules need the receive time or settings, so
  ``schemas.clock`` applies them after validation (``validate_reading_json`` and
  ``decode_kafka_value`` do both steps).

All numbers must be finite JSON numbers (strings, booleans, NaN and infinities are
rejected). Unknown fields are rejected.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,64}$"
KWH_MAX = 1000.0
KWH_REGISTER_MAX = 1e9
VOLTAGE_MAX_V = 1000.0
BATTERY_TEMP_MIN_C = -50.0
BATTERY_TEMP_MAX_C = 120.0
DEFAULT_MAX_FUTURE_SKEW = timedelta(minutes=5)
DEFAULT_TIMESTAMP_FLOOR = datetime(2000, 1, 1, tzinfo=UTC)


def retention_horizon(today: date, retention_days: int) -> date | None:
    """The first UTC day retention keeps (None: ``retention_days`` 0 keeps everything)."""
    return None if retention_days <= 0 else today - timedelta(days=retention_days)


@dataclass(frozen=True, slots=True)
class ValidationClock:
    """What "now" is while validating (the receive time) and the time rules, for ``schemas.clock``.

    ``now=None`` skips the rules relative to now (future skew, max past age, retention);
    the floor, a static bound, always applies. Build one with ``TimeRules.clock``.
    """

    now: datetime | None
    max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW
    floor: datetime = DEFAULT_TIMESTAMP_FLOOR
    max_past_age: timedelta | None = None
    retention_days: int = 0

    @property
    def latest(self) -> datetime | None:
        """The latest acceptable timestamp (None: the skew is not judged)."""
        return None if self.now is None else self.now + self.max_future_skew

    @property
    def earliest(self) -> datetime:
        """The earliest acceptable timestamp: the tightest of ``floor``, the retention horizon
        and ``max_past_age`` (the first two remembered per UTC day: this runs once per
        gateway request, 5 us of 45 without it)."""
        if self.now is None:
            return self.floor
        earliest = _daily_earliest(self.floor, self.retention_days, self.now.astimezone(UTC).date())
        return earliest if self.max_past_age is None else max(earliest, self.now - self.max_past_age)


@functools.lru_cache(maxsize=64)
def _daily_earliest(floor: datetime, retention_days: int, today: date) -> datetime:
    """The lower bounds that change only with the UTC day: the floor and the retention horizon."""
    horizon = retention_horizon(today, retention_days)
    return floor if horizon is None else max(floor, datetime.combine(horizon, time(), UTC))


DeviceId = Annotated[str, Field(pattern=ID_PATTERN, min_length=1, max_length=64)]
# Normalised to UTC and judged against the receiver's clock by ``schemas.clock``.
Timestamp = AwareDatetime
Energy = Annotated[float, Field(ge=0.0, le=KWH_MAX)]
RegisterEnergy = Annotated[float, Field(ge=0.0, le=KWH_REGISTER_MAX)]
Voltage = Annotated[float, Field(ge=0.0, le=VOLTAGE_MAX_V)]

_MODEL_CONFIG = ConfigDict(
    extra="forbid",
    strict=True,
    frozen=True,
    allow_inf_nan=False,
    populate_by_name=False,
)


ENERGY_MISSING = "meter_energy_missing"
ENERGY_EXCLUSIVE = "meter_energy_exclusive"
"""Error types of the exactly-one rule, reported at ``kwhConsumedAc``."""


class MeterReading(BaseModel):
    """A smart meter's AC reading: the interval's energy or the lifetime register.

    Exactly one of ``kwhConsumedAc`` (kWh of the interval ending at ``timestamp``) and
    ``kwhRegisterAc`` (the lifetime register at ``timestamp``). ``kwhRegisterAc`` is
    declared first so that the rule, checked on ``kwhConsumedAc``, sees it: an error
    ``meter_energy_missing`` or ``meter_energy_exclusive`` at ``kwhConsumedAc``.
    """

    model_config = _MODEL_CONFIG

    type: Literal["meter"]
    meterId: DeviceId
    kwhRegisterAc: RegisterEnergy | None = None
    kwhConsumedAc: Energy | None = Field(default=None, validate_default=True)
    voltage: Voltage | None = None
    timestamp: Timestamp

    @field_validator("kwhConsumedAc")
    @classmethod
    def _exactly_one_energy(cls, value: float | None, info: ValidationInfo) -> float | None:
        if "kwhRegisterAc" not in info.data:
            return value  # kwhRegisterAc itself was invalid: that error is the one to report
        register = info.data["kwhRegisterAc"]
        if value is None and register is None:
            raise PydanticCustomError(
                ENERGY_MISSING,
                "a meter reading needs kwhConsumedAc (kWh of the interval)"
                " or kwhRegisterAc (the lifetime register, kWh)",
            )
        if value is not None and register is not None:
            raise PydanticCustomError(
                ENERGY_EXCLUSIVE, "kwhConsumedAc and kwhRegisterAc exclude each other: send one of them"
            )
        return value

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
