"""OCPP sampled values → one register value (kWh) and one voltage per meter value.

Both versions send a ``meterValue`` as a timestamp and a list of ``sampledValue``s, each
a measurand (default ``Energy.Active.Import.Register``), an optional phase, a location
(default ``Outlet``) and a unit: 1.6 ``unit`` (default ``Wh``) with the value as a decimal
string, 2.0.1 ``unitOfMeasure`` ``{unit (default Wh), multiplier (default 0)}`` with the
value as a JSON number. The rules:

- energy: ``Wh`` or ``kWh`` (times 10^multiplier), normalised to kWh; the value without a
  phase is the total; when only per-phase values come (``L1``, ``L2``, ``L3``, ``L1-N`` ...)
  they are summed; ``Outlet`` (or no location) is preferred to ``Inlet``; other locations
  (``EV``, ``Body``, ``Cable``) are not the charger's register and are ignored;
- voltage: the ``Voltage`` measurand in ``V`` (times 10^multiplier): the value without a
  phase, else the average of the phase-to-neutral values, else of the other phase values;
- 1.6 ``SignedData`` values are opaque and skipped; every other value must be a finite
  number (else TypeConstraintViolation) and an energy or voltage must not be negative
  (else PropertyConstraintViolation). The readings' own bounds are checked later by the
  same schema as HTTP.

Payloads arrive here with snake_case keys (``sampled_value``, ``unit_of_measure``): the
``ocpp`` package converts them before calling a handler.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ocpp.exceptions import PropertyConstraintViolationError, TypeConstraintViolationError

REGISTER = "Energy.Active.Import.Register"
VOLTAGE = "Voltage"
ENERGY_UNITS = {"Wh": -3, "kWh": 0}  # powers of ten to kWh
VOLTAGE_UNITS = {"V": 0}
_LOCATIONS = ("Outlet", "Inlet")  # by preference
# 1.6 values are xs:decimal strings: digits, an optional fraction, an optional exponent.
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True, slots=True)
class Sample:
    """One sampled value, decoded and scaled to its base unit (kWh or V)."""

    measurand: str
    phase: str | None
    location: str
    value: float


@dataclass(frozen=True, slots=True)
class MeterSample:
    """What one ``meterValue`` says: the register (kWh) and the voltage, where sent."""

    timestamp: str
    kwh: float | None
    voltage: float | None


def _where(index: int) -> str:
    return f"sampledValue[{index}]"


def number_16(raw: Any, index: int) -> float:
    """A 1.6 value string as a finite float (TypeConstraintViolation otherwise)."""
    if not isinstance(raw, str) or not _DECIMAL.match(raw.strip()):
        raise TypeConstraintViolationError(
            details={"cause": f"{_where(index)}.value {raw!r} is not a number"}
        )
    value = float(raw)
    if not math.isfinite(value):
        raise TypeConstraintViolationError(details={"cause": f"{_where(index)}.value {raw!r} is not finite"})
    return value


def number_201(raw: Any, index: int) -> float:
    """A 2.0.1 value (a JSON number; the schema already refused anything else)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise TypeConstraintViolationError(
            details={"cause": f"{_where(index)}.value {raw!r} is not a number"}
        )
    return float(raw)


def _exponent(measurand: str, unit: str, multiplier: int, index: int) -> int | None:
    """The power of ten to kWh (energy) or V (voltage); None for a measurand not used here."""
    units = ENERGY_UNITS if measurand == REGISTER else VOLTAGE_UNITS if measurand == VOLTAGE else None
    if units is None:
        return None
    exponent = units.get(unit)
    if exponent is None:
        raise PropertyConstraintViolationError(
            details={"cause": f"{_where(index)}: {measurand} in {unit!r}; expected one of {sorted(units)}"}
        )
    return exponent + multiplier


def scaled(value: float, exponent: int) -> float:
    """``value * 10**exponent``, dividing for a negative one (1001 Wh is exactly 1001 / 1000 kWh)."""
    return value * float(10**exponent) if exponent >= 0 else value / float(10 ** (-exponent))


def decode_16(sampled: Iterable[Mapping[str, Any]]) -> list[Sample]:
    """The energy and voltage samples of a 1.6 ``sampledValue`` list."""
    out: list[Sample] = []
    for i, sv in enumerate(sampled):
        if sv.get("format") == "SignedData":
            continue
        measurand = sv.get("measurand", REGISTER)
        # 1.6 says the default unit is Wh whatever the measurand; a Voltage without one means V.
        unit = sv.get("unit", "V" if measurand == VOLTAGE else "Wh")
        exponent = _exponent(measurand, unit, 0, i)
        if exponent is not None:
            value = _non_negative(number_16(sv.get("value"), i), i)
            out.append(
                Sample(measurand, sv.get("phase"), sv.get("location", "Outlet"), scaled(value, exponent))
            )
    return out


def decode_201(sampled: Iterable[Mapping[str, Any]]) -> list[Sample]:
    """The energy and voltage samples of a 2.0.1 ``sampledValue`` list."""
    out: list[Sample] = []
    for i, sv in enumerate(sampled):
        measurand = sv.get("measurand", REGISTER)
        uom = sv.get("unit_of_measure") or {}
        unit = uom.get("unit", "V" if measurand == VOLTAGE else "Wh")
        multiplier = uom.get("multiplier", 0)
        if not isinstance(multiplier, int) or not -9 <= multiplier <= 9:
            raise PropertyConstraintViolationError(
                details={"cause": f"{_where(i)}.unitOfMeasure.multiplier {multiplier!r} is not in -9..9"}
            )
        exponent = _exponent(measurand, unit, multiplier, i)
        if exponent is not None:
            value = _non_negative(number_201(sv.get("value"), i), i)
            out.append(
                Sample(measurand, sv.get("phase"), sv.get("location", "Outlet"), scaled(value, exponent))
            )
    return out


def _non_negative(value: float, index: int) -> float:
    if value < 0:
        raise PropertyConstraintViolationError(
            details={"cause": f"{_where(index)}.value {value} is negative"}
        )
    return value


def register_kwh(samples: list[Sample]) -> float | None:
    """The register in kWh: the total, else the sum of the phases, at the preferred location."""
    for location in _LOCATIONS:
        here = [s for s in samples if s.measurand == REGISTER and s.location == location]
        total = [s.value for s in here if s.phase is None]
        if total:
            return total[-1]
        phases = {s.phase: s.value for s in here if s.phase is not None and s.phase != "N"}
        if phases:
            return math.fsum(phases.values())
    return None


def voltage_v(samples: list[Sample]) -> float | None:
    """The voltage: the value without a phase, else the average of the phase values."""
    for location in _LOCATIONS:
        here = [s for s in samples if s.measurand == VOLTAGE and s.location == location]
        total = [s.value for s in here if s.phase is None]
        if total:
            return total[-1]
        to_neutral = {s.phase: s.value for s in here if s.phase is not None and s.phase.endswith("-N")}
        others = {s.phase: s.value for s in here if s.phase is not None and s.phase != "N"}
        chosen = to_neutral or others
        if chosen:
            return math.fsum(chosen.values()) / len(chosen)
    return None


def meter_samples(meter_values: Iterable[Mapping[str, Any]], version: str) -> list[MeterSample]:
    """One :class:`MeterSample` per ``meterValue`` (``version``: ``1.6`` or ``2.0.1``)."""
    decode = decode_16 if version == "1.6" else decode_201
    out = []
    for mv in meter_values:
        samples = decode(mv.get("sampled_value", []))
        out.append(MeterSample(mv["timestamp"], register_kwh(samples), voltage_v(samples)))
    return out
