"""What a simulated charge point will send: sessions with rising registers, resets, reconnects.

Pure and deterministic (one seed, one plan). A charge point's connector has a lifetime
import register in whole Wh that starts somewhere in the millions; each sample of a
session adds the energy drawn since the previous one. A *reset* (the meter rebooted or
was swapped) restarts the register from zero before the sample's energy is added, so
the register drops. Alongside, the plan keeps the energy really drawn per sample, so the
register semantics can be checked against something that is not the register.

The vehicle that charges on the connector reports DC at each sample's time, at its
charger's efficiency, so the analytics can pair AC from the register with DC.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

ENERGY_REGISTER = "Energy.Active.Import.Register"


class UnitStyle(StrEnum):
    """How a charge point writes its register (the gateway normalises all to kWh)."""

    WH = "Wh"  # 1.6 and 2.0.1: the value in Wh
    KWH = "kWh"  # 1.6: unit kWh; 2.0.1: unitOfMeasure kWh
    KWH_MULTIPLIER = "kWh-multiplier"  # 2.0.1: unit Wh with multiplier 3 (values in kWh); 1.6: as kWh


@dataclass(frozen=True, slots=True)
class Sample:
    """One MeterValues sample of a session."""

    at: datetime
    register_wh: int
    drawn_wh: int  # energy really drawn since the previous sample of the session
    dc_kwh: float  # what the vehicle reports delivered to its battery at ``at``
    voltage: float | None
    reset: bool = False  # the register restarted from zero just before this sample


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """One transaction on connector ``connector``."""

    connector: int
    id_tag: str
    start: datetime
    meter_start_wh: int
    samples: tuple[Sample, ...]
    stop: datetime
    meter_stop_wh: int
    stop_drawn_wh: int  # energy drawn between the last sample and the stop
    stop_dc_kwh: float
    style: UnitStyle
    per_phase: bool
    reconnect_after: int | None = None  # reconnect after sending this many samples
    duplicate_at: int | None = None  # sample index whose MeterValues is sent twice

    def register_series(self) -> list[tuple[datetime, int]]:
        """Every register reading the session produces, in time order (start, samples, stop)."""
        return [
            (self.start, self.meter_start_wh),
            *((s.at, s.register_wh) for s in self.samples),
            (self.stop, self.meter_stop_wh),
        ]

    @property
    def drawn_kwh(self) -> float:
        """Energy really drawn over (start, stop] in kWh."""
        return (sum(s.drawn_wh for s in self.samples) + self.stop_drawn_wh) / 1000

    @property
    def dc_kwh(self) -> float:
        """DC the vehicle reports over (start, stop]."""
        return sum(s.dc_kwh for s in self.samples) + self.stop_dc_kwh

    def dc_readings(self) -> list[tuple[datetime, float]]:
        """(time, kWh) of the vehicle's DC readings for this session."""
        return [*((s.at, s.dc_kwh) for s in self.samples), (self.stop, self.stop_dc_kwh)]


@dataclass(frozen=True, slots=True)
class PlanSpec:
    """Shape of one charge point's day."""

    sessions: int = 2
    samples_per_session: int = 12
    interval: timedelta = timedelta(minutes=1)
    gap: timedelta = timedelta(minutes=5)
    reset_share: float = 0.2  # of sessions that get a register reset mid-way
    reconnect_share: float = 0.3  # of sessions during which the charge point reconnects
    duplicate_share: float = 0.2  # of sessions with one MeterValues sent twice
    voltage_share: float = 0.5  # of charge points that send a Voltage measurand
    per_phase_share: float = 0.3  # of charge points that send per-phase values only

    def span(self) -> timedelta:
        """Simulated time one charge point's plan covers."""
        per_session = self.interval * (self.samples_per_session + 1) + self.gap
        return per_session * self.sessions


def _iso_whole(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(microsecond=0)


def plan_sessions(
    spec: PlanSpec, rng: random.Random, id_tag: str, start: datetime, style: UnitStyle
) -> list[SessionPlan]:
    """``spec.sessions`` sessions on connector 1 from ``start``, one after the other."""
    power_kw = rng.choice((7.4, 11.0, 22.0))
    efficiency = rng.uniform(0.88, 0.95)
    per_phase = rng.random() < spec.per_phase_share
    voltage = rng.random() < spec.voltage_share
    register = rng.randint(1_000_000, 50_000_000)
    at = _iso_whole(start)
    out: list[SessionPlan] = []
    for _ in range(spec.sessions):
        session_start, meter_start = at, register
        reset_at = rng.randint(2, spec.samples_per_session - 1) if rng.random() < spec.reset_share else None
        samples: list[Sample] = []
        for i in range(spec.samples_per_session):
            at += spec.interval
            drawn = round(power_kw * 1000 * spec.interval.total_seconds() / 3600 * rng.uniform(0.9, 1.0))
            if i == reset_at:
                register = 0
            register += drawn
            samples.append(
                Sample(
                    at=at,
                    register_wh=register,
                    drawn_wh=drawn,
                    dc_kwh=round(drawn / 1000 * efficiency, 6),
                    voltage=round(rng.gauss(230, 2), 1) if voltage else None,
                    reset=i == reset_at,
                )
            )
        at += spec.interval
        stop_drawn = round(power_kw * 1000 * spec.interval.total_seconds() / 3600 * 0.5)
        register += stop_drawn
        n = spec.samples_per_session
        out.append(
            SessionPlan(
                connector=1,
                id_tag=id_tag,
                start=session_start,
                meter_start_wh=meter_start,
                samples=tuple(samples),
                stop=at,
                meter_stop_wh=register,
                stop_drawn_wh=stop_drawn,
                stop_dc_kwh=round(stop_drawn / 1000 * efficiency, 6),
                style=style,
                per_phase=per_phase,
                reconnect_after=rng.randint(1, n - 1) if rng.random() < spec.reconnect_share else None,
                duplicate_at=rng.randrange(n) if rng.random() < spec.duplicate_share else None,
            )
        )
        at += spec.gap
    return out


def phase_split(total_wh: int) -> tuple[int, int, int]:
    """Three phase registers (L1, L2, L3) that add up to ``total_wh`` exactly."""
    third = total_wh // 3
    return total_wh - 2 * third, third, third
