"""The OCPP simulator's pure parts: register series with resets, the frames' units, the plan."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from simulator.ocpp_check import session_problem
from simulator.ocpp_frames import Protocol, meter_value, sampled_values
from simulator.ocpp_plan import ENERGY_REGISTER, PlanSpec, UnitStyle, phase_split, plan_sessions
from simulator.ocpp_run import fleet_plan, vehicle_readings
from simulator.ocpp_transcript import transcript_markdown

START = datetime(2026, 1, 1, 8, tzinfo=UTC)
SPEC = PlanSpec(sessions=3, samples_per_session=10, reset_share=0.5, reconnect_share=0.5, duplicate_share=0.5)


def _energy_by_rule(series: list[tuple[datetime, int]]) -> int:
    """The issue's rule, written out: rises count, a fall restarts from zero, the first is 0."""
    total = 0
    previous: int | None = None
    for _, reg in sorted(series):
        if previous is not None:
            total += reg - previous if reg >= previous else reg
        previous = reg
    return total


def _decoded_wh(protocol: Protocol, values: list[dict[str, Any]]) -> Decimal:
    """Read a sampledValue list back the way the contract says (units, multipliers, phases)."""
    total = Decimal(0)
    for v in values:
        if v.get("measurand") != ENERGY_REGISTER:
            continue
        if protocol == "ocpp1.6":
            assert isinstance(v["value"], str)
            unit, multiplier = v["unit"], 0
        else:
            assert isinstance(v["value"], float)
            unit, multiplier = v["unitOfMeasure"]["unit"], v["unitOfMeasure"].get("multiplier", 0)
        scale = Decimal(1000 if unit == "kWh" else 1) * Decimal(10) ** multiplier
        total += Decimal(str(v["value"])) * scale
    return total


def test_registers_rise_and_a_reset_restarts_them_below_the_previous_value() -> None:
    resets = 0
    for seed in range(30):
        for plan in plan_sessions(SPEC, random.Random(seed), "tag-1", START, UnitStyle.WH):
            series = plan.register_series()
            assert [t for t, _ in series] == sorted({t for t, _ in series}), "times rise strictly"
            for (_, before), sample in zip(series, plan.samples, strict=False):
                if sample.reset:
                    resets += 1
                    assert sample.register_wh == sample.drawn_wh < before
                else:
                    assert sample.register_wh == before + sample.drawn_wh
            assert sum(s.reset for s in plan.samples) <= 1
    assert resets > 10, "the share of resets gave too few to check"


def test_energy_by_the_register_rule_equals_the_energy_drawn() -> None:
    checked_with_reset = 0
    for seed in range(30):
        for plan in plan_sessions(SPEC, random.Random(seed), "tag-1", START, UnitStyle.KWH):
            drawn = sum(s.drawn_wh for s in plan.samples) + plan.stop_drawn_wh
            assert _energy_by_rule(plan.register_series()) == drawn
            assert plan.drawn_kwh == pytest.approx(drawn / 1000, abs=1e-12)
            if not any(s.reset for s in plan.samples):
                assert plan.meter_stop_wh - plan.meter_start_wh == drawn
            else:
                checked_with_reset += 1
                assert plan.meter_stop_wh - plan.meter_start_wh != drawn
    assert checked_with_reset > 10


def test_sessions_follow_each_other_and_name_reconnects_and_duplicates_inside_them() -> None:
    plans = plan_sessions(SPEC, random.Random(4), "tag-1", START, UnitStyle.WH)
    assert len(plans) == 3
    for a, b in itertools.pairwise(plans):
        assert a.stop < b.start
        assert b.meter_start_wh == a.meter_stop_wh, "the register carries over between sessions"
    for p in plans:
        assert p.start < p.samples[0].at
        assert p.samples[-1].at < p.stop
        assert p.reconnect_after is None or 0 < p.reconnect_after < len(p.samples)
        assert p.duplicate_at is None or 0 <= p.duplicate_at < len(p.samples)
    assert plans[-1].stop <= START + SPEC.span()


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
@pytest.mark.parametrize("style", list(UnitStyle))
@pytest.mark.parametrize("per_phase", [False, True])
def test_frames_say_the_register_in_their_units_exactly(
    protocol: Protocol, style: UnitStyle, per_phase: bool
) -> None:
    for wh in (0, 1, 999, 1_000, 12_345_678, 987_654_321):
        values = sampled_values(protocol, wh, style, per_phase, voltage=None)
        assert _decoded_wh(protocol, values) == wh
        energy = [v for v in values if v["measurand"] == ENERGY_REGISTER]
        assert len(energy) == (3 if per_phase else 1)
        assert all(("phase" in v) == per_phase for v in energy)
    sample = sampled_values(protocol, 5_000, style, per_phase, voltage=None)[0]
    if protocol == "ocpp1.6":
        assert sample["unit"] == ("Wh" if style is UnitStyle.WH else "kWh")
    elif style is UnitStyle.KWH_MULTIPLIER:
        assert sample["unitOfMeasure"] == {"unit": "Wh", "multiplier": 3}
        assert sample["value"] == (1.668 if per_phase else 5.0)  # L1 of 1668 + 1666 + 1666 Wh


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
def test_voltage_is_its_own_measurand_per_phase_or_single(protocol: Protocol) -> None:
    single = sampled_values(protocol, 10, UnitStyle.WH, False, voltage=231.5)
    volts = [v for v in single if v["measurand"] == "Voltage"]
    assert [float(v["value"]) for v in volts] == [231.5]
    three = sampled_values(protocol, 10, UnitStyle.WH, True, voltage=231.5)
    volts = [v for v in three if v["measurand"] == "Voltage"]
    assert [v["phase"] for v in volts] == ["L1-N", "L2-N", "L3-N"]
    assert sum(float(v["value"]) for v in volts) / 3 == pytest.approx(231.5)
    assert not [
        v for v in sampled_values(protocol, 10, UnitStyle.WH, True, None) if v["measurand"] == "Voltage"
    ]


def test_phase_split_adds_up() -> None:
    for total in (0, 1, 2, 3, 10, 1_000_001):
        parts = phase_split(total)
        assert sum(parts) == total
        assert min(parts) >= 0


def test_meter_value_has_the_sample_time() -> None:
    at = START + timedelta(minutes=3)
    value = meter_value("ocpp2.0.1", at, 1, UnitStyle.WH, False, None)
    assert value["timestamp"] == "2026-01-01T08:03:00Z"


def test_fleet_plan_is_deterministic_ends_in_time_and_the_vehicle_reports_the_sessions_dc() -> None:
    end = datetime(2026, 3, 1, tzinfo=UTC)
    a = fleet_plan(9, "t", SPEC, seed=3, end=end)
    assert a == fleet_plan(9, "t", SPEC, seed=3, end=end)
    assert a != fleet_plan(9, "t", SPEC, seed=4, end=end)
    assert {p.sessions[0].style for p in a} == set(UnitStyle)
    for cp in a:
        assert len(cp.charge_point_id) <= 48
        assert cp.sessions[-1].stop <= end
        assert all(s.id_tag == cp.id_tag for s in cp.sessions)
        dc = list(vehicle_readings(cp))
        assert {r["vehicleId"] for r in dc} == {cp.vehicle_id}
        assert sum(r["kwhDeliveredDc"] for r in dc) == pytest.approx(sum(s.dc_kwh for s in cp.sessions))
        ac = sum(s.drawn_kwh for s in cp.sessions)
        assert 0.87 < sum(r["kwhDeliveredDc"] for r in dc) / ac < 0.96


def test_the_sessions_check_names_what_differs() -> None:
    plan = plan_sessions(SPEC, random.Random(1), "tag-1", START, UnitStyle.WH)[0]
    row = {"stop": "x", "kwhConsumedAc": plan.drawn_kwh, "kwhDeliveredDc": plan.dc_kwh}
    assert session_problem(row, plan) is None
    assert session_problem(None, plan) == "missing"
    assert session_problem(row | {"stop": None}, plan) == "not stopped"
    assert "kwhConsumedAc" in str(session_problem(row | {"kwhConsumedAc": plan.drawn_kwh + 0.001}, plan))
    assert "kwhDeliveredDc" in str(session_problem(row | {"kwhDeliveredDc": None}, plan))


def test_transcript_marks_direction_and_connection_events() -> None:
    text = transcript_markdown(
        "ocpp1.6", "cp-1", [("note", "connected"), ("sent", "[2]"), ("received", "[3]")]
    )
    assert text.splitlines()[3:6] == ["-- connected", "-> [2]", "<- [3]"]
