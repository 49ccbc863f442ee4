"""The meterValue objects of OCPP 1.6J and 2.0.1 for a register reading (pure).

1.6 sampled values carry strings and a ``unit`` (Wh or kWh, no multiplier); 2.0.1 ones
carry numbers and a ``unitOfMeasure`` with an optional power-of-ten ``multiplier``. A
charge point that meters per phase sends L1/L2/L3 registers and no total; the gateway
adds them up. Voltage, when metered, comes as its own measurand (per phase L1-N.. or one
value).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from simulator.ocpp_plan import ENERGY_REGISTER, UnitStyle, phase_split

Protocol = Literal["ocpp1.6", "ocpp2.0.1"]
PHASES = ("L1", "L2", "L3")


def iso(t: datetime) -> str:
    """RFC 3339 in UTC with a Z, whole seconds when the time has no fraction."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _kwh_text(wh: int) -> str:
    return str(Decimal(wh) / 1000)


def _energy_16(wh: int, style: UnitStyle, context: str, phase: str | None) -> dict[str, Any]:
    value, unit = (str(wh), "Wh") if style is UnitStyle.WH else (_kwh_text(wh), "kWh")
    out: dict[str, Any] = {"value": value, "context": context, "measurand": ENERGY_REGISTER, "unit": unit}
    if phase:
        out["phase"] = phase
    return out


def _energy_201(wh: int, style: UnitStyle, context: str, phase: str | None) -> dict[str, Any]:
    unit: dict[str, Any]
    if style is UnitStyle.WH:
        value, unit = float(wh), {"unit": "Wh"}
    elif style is UnitStyle.KWH:
        value, unit = float(_kwh_text(wh)), {"unit": "kWh"}
    else:  # values in kWh, said as Wh x 10^3
        value, unit = float(_kwh_text(wh)), {"unit": "Wh", "multiplier": 3}
    out: dict[str, Any] = {
        "value": value,
        "context": context,
        "measurand": ENERGY_REGISTER,
        "unitOfMeasure": unit,
    }
    if phase:
        out["phase"] = phase
    return out


def sampled_values(
    protocol: Protocol,
    register_wh: int,
    style: UnitStyle,
    per_phase: bool,
    voltage: float | None,
    context: str = "Sample.Periodic",
) -> list[dict[str, Any]]:
    """The sampledValue list of one reading."""
    energy = _energy_16 if protocol == "ocpp1.6" else _energy_201
    if per_phase:
        values = [
            energy(wh, style, context, ph) for wh, ph in zip(phase_split(register_wh), PHASES, strict=True)
        ]
    else:
        values = [energy(register_wh, style, context, None)]
    if voltage is not None:
        for i, ph in enumerate(PHASES if per_phase else (None,)):
            v = round(voltage + (i - 1) * 0.4, 1) if ph else voltage  # phases differ a little
            item: dict[str, Any] = {"context": context, "measurand": "Voltage"}
            if protocol == "ocpp1.6":
                item |= {"value": str(v), "unit": "V"}
            else:
                item |= {"value": v, "unitOfMeasure": {"unit": "V"}}
            if ph:
                item["phase"] = f"{ph}-N"
            values.append(item)
    return values


def meter_value(
    protocol: Protocol,
    at: datetime,
    register_wh: int,
    style: UnitStyle,
    per_phase: bool,
    voltage: float | None,
    context: str = "Sample.Periodic",
) -> dict[str, Any]:
    """One meterValue object (its keys already in OCPP's camelCase)."""
    return {
        "timestamp": iso(at),
        "sampledValue": sampled_values(protocol, register_wh, style, per_phase, voltage, context),
    }
