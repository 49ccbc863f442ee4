"""Cumulative registers are exact over HTTP whatever the arrival order (docs/registers.md).

Every case's register readings go through the real gateway (POST /v1/ingest), Kafka and
the consumer in the order its plan says (shuffled, duplicated, late after the rollups,
resets, two meters, a weeks-old reading beside the newest, replays); then the stored
rows, the hourly and daily rollups, the status, the meter series and the performance
endpoint over several windows are compared with the reference computed in plain Python
from the sorted series (tests/e2e/register_cases.py). The exactness table is printed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.register_cases import Case, attributed, buckets, build, plan, window_sum
from tests.support import Services, eventually, iso, unique

pytestmark = pytest.mark.e2e

# Two days ago, 19:00 UTC: each series (about 10 h) crosses a UTC midnight.
START = datetime.now(UTC).replace(hour=19, minute=0, second=0, microsecond=0) - timedelta(days=2)
KINDS: list[tuple[str, int, int]] = [  # arrival pattern, meters, resets per series
    ("in order", 1, 0),
    ("shuffled", 1, 0),
    ("duplicated", 1, 0),
    ("late after rollup", 1, 0),
    ("reset mid-series", 1, 2),
    ("reset + late", 1, 2),
    ("two meters interleaved", 2, 1),
    ("batch with old+new", 1, 0),
    ("replay of stored rows", 1, 1),
]
US = timedelta(microseconds=1)


def body(reading: tuple[str, datetime, Decimal, float | None]) -> dict[str, Any]:
    meter, ts, reg, volts = reading
    out: dict[str, Any] = {
        "type": "meter",
        "meterId": meter,
        "kwhRegisterAc": float(reg),
        "timestamp": iso(ts),
    }
    if volts is not None:
        out["voltage"] = volts
    return out


def _stored(services: Services, case: Case) -> int:
    with services.db() as db:
        row = db.execute(
            "SELECT count(*) FROM meter_telemetry WHERE meter_id = ANY(%s)", (list(case.series),)
        ).fetchone()
    return int(row[0]) if row else 0


def _counter(services: Services, case: Case, want: int) -> Callable[[], bool]:
    return lambda: _stored(services, case) == want


@pytest.fixture(scope="module")
def cases(services: Services) -> list[tuple[Case, str]]:
    """Every case sent, phase by phase (all cases' phase n together); each with its vehicle."""
    rng = random.Random(13)
    built: list[tuple[Case, str]] = []
    for n, (kind, meters, resets) in enumerate(KINDS):
        tag = unique("reg")
        case = build(kind, [f"{tag}:{i + 1}" for i in range(meters)], START, seed=100 + n, resets=resets)
        built.append((plan(case, rng, kind), unique("v-reg")))
    with services.analytics(services.env["ADMIN_TOKEN"]) as admin:
        for case, vehicle in built:
            for meter in case.series:
                put = admin.put(
                    f"/v1/mappings/meters/{meter}",
                    json={"vehicleId": vehicle, "validFrom": iso(START - timedelta(days=30))},
                )
                assert put.status_code in (200, 201), put.text
    with services.gateway() as gw:
        for phase in range(max(len(c.phases) for c, _ in built)):
            for case, _ in built:
                for request in case.phases[phase] if phase < len(case.phases) else []:
                    resp = gw.post("/v1/ingest", json=[body(r) for r in request])
                    assert resp.status_code == 202, resp.text
            for case, _ in built:  # this phase stored (with its rollups) before the next is sent
                if phase < len(case.phases):
                    want = case.distinct_after(phase)
                    eventually(_counter(services, case, want), timeout=60)
    return built


def windows(case: Case) -> list[tuple[str, datetime, datetime]]:
    times = sorted(ts for s in case.series.values() for ts in s)
    first, last = times[0], times[-1]
    hour = first.replace(minute=0, second=0) + timedelta(hours=2)
    return [
        ("everything", first, last + US),
        ("whole hours", hour, hour + timedelta(hours=5)),
        ("unaligned", times[3] + timedelta(minutes=7), times[-4] - timedelta(minutes=11)),
        ("edge-exact", times[5], times[9]),  # [from, to): the reading at `to` is outside
        (
            "across midnight",
            hour.replace(hour=23, minute=13),
            hour.replace(hour=23) + timedelta(hours=3, minutes=1),
        ),
    ]


def check(services: Services, case: Case, vehicle: str) -> list[str]:
    """Every figure compared with the reference; returns the mismatches (empty: exact)."""
    problems: list[str] = []
    energy = {m: attributed(s) for m, s in case.series.items()}
    with services.db() as db:
        for meter, series in case.series.items():
            rows = dict(
                db.execute("SELECT ts, kwh_consumed_ac FROM meter_telemetry WHERE meter_id = %s", (meter,))
            )
            if rows != energy[meter]:
                problems.append(f"{meter}: stored derived energy differs")
            regs = dict(
                db.execute("SELECT ts, kwh_register_ac FROM meter_telemetry WHERE meter_id = %s", (meter,))
            )
            if regs != series:
                problems.append(f"{meter}: stored registers differ")
            for table, unit in (("meter_hourly", "hour"), ("meter_daily", "day")):
                got = dict(
                    db.execute(
                        f"SELECT {unit}, kwh_consumed_ac FROM {table} WHERE meter_id = %s",
                        (meter,),
                    )
                )
                if got != buckets(energy[meter], unit):
                    problems.append(f"{meter}: {table} differs: {got} vs {buckets(energy[meter], unit)}")
            samples = db.execute(
                "SELECT sum(samples), sum(samples - voltage_missing), sum(voltage_sum) FROM meter_hourly"
                " WHERE meter_id = %s",
                (meter,),
            ).fetchone()
            volts = [v for (m, _), v in case.voltage.items() if m == meter and v is not None]
            if samples is None or (samples[0], samples[1]) != (len(series), len(volts)):
                problems.append(
                    f"{meter}: samples {samples} vs {len(series)} readings, {len(volts)} voltages"
                )
            elif abs(samples[2] - sum(volts)) > 1e-6:
                problems.append(f"{meter}: voltage sum {samples[2]} vs {sum(volts)}")
    with services.analytics() as api:
        for meter, series in case.series.items():
            last = max(series)
            status = api.get(f"/v1/meters/{meter}/status").json()
            want_status = (iso(last), energy[meter][last], series[last])
            got_status = (
                status["timestamp"].replace("+00:00", "Z"),
                Decimal(str(status["kwhConsumedAc"])),
                Decimal(str(status["kwhRegisterAc"])),
            )
            if got_status != want_status:
                problems.append(f"{meter}: status {got_status} vs {want_status}")
            lo = min(series).replace(minute=0, second=0)
            resp = api.get(
                f"/v1/meters/{meter}/telemetry",
                params={"from": iso(lo), "to": iso(last + timedelta(hours=1)), "bucket": "1h"},
            )
            assert resp.status_code == 200, resp.text
            hourly = {
                datetime.fromisoformat(p["ts"]): Decimal(str(p["kwhConsumedAc"]))
                for p in resp.json()["points"]
            }
            if hourly != buckets(energy[meter], "hour"):
                problems.append(f"{meter}: 1h series differs")
        every = sorted(ts for s in case.series.values() for ts in s)
        resp = api.get(
            f"/v1/vehicles/{vehicle}/energy",
            params={
                "from": iso(every[0].replace(minute=0, second=0)),
                "to": iso(every[-1] + timedelta(hours=1)),
            },
        )
        assert resp.status_code == 200, resp.text
        per_hour = {
            datetime.fromisoformat(p["ts"]): Decimal(str(p["kwhConsumedAc"]))
            for p in resp.json()["points"]
            if p["kwhConsumedAc"]
        }
        want_hours: dict[datetime, Decimal] = {}
        for per in energy.values():
            for hour, kwh in buckets(per, "hour").items():
                want_hours[hour] = want_hours.get(hour, Decimal(0)) + kwh
        if per_hour != {h: v for h, v in want_hours.items() if v}:
            problems.append("vehicle hourly energy (fleet dashboard) differs")
        for label, lo, hi in windows(case):
            perf = api.get(f"/v1/analytics/performance/{vehicle}", params={"from": iso(lo), "to": iso(hi)})
            assert perf.status_code == 200, perf.text
            total = Decimal(str(perf.json()["totalKwhConsumedAc"]))
            want = window_sum(energy.values(), lo, hi)
            if total != want:
                problems.append(f"performance {label} [{iso(lo)}, {iso(hi)}): {total} vs {want}")
    return problems


TABLE: list[str] = []


@pytest.mark.parametrize("index", range(len(KINDS)), ids=[k for k, _, _ in KINDS])
def test_register_energy_is_exact(services: Services, cases: list[tuple[Case, str]], index: int) -> None:
    case, vehicle = cases[index]
    problems = check(services, case, vehicle)
    energy = {m: attributed(s) for m, s in case.series.items()}
    total = sum((e for per in energy.values() for e in per.values()), Decimal(0))
    TABLE.append(
        f"| {case.name} | {len(case.series)} | {case.sent} | {sum(len(s) for s in case.series.values())} "
        f"| {case.requests} | {len(case.phases)} | {total} | {len(windows(case))} "
        f"| {'exact' if not problems else 'DIFFERS'} |"
    )
    if index == len(KINDS) - 1:
        print(
            "\n| case | meters | readings sent | distinct | requests | phases | kWh (reference) | windows |",
            end="",
        )
        print(" result |")
        print("|---|---|---|---|---|---|---|---|---|")
        print("\n".join(TABLE))
    assert not problems, problems


def test_gateway_refuses_both_or_neither_energy_by_index_and_field(services: Services) -> None:
    meter = unique("reg-422")
    good = {"type": "meter", "meterId": meter, "kwhRegisterAc": 10.5, "timestamp": iso(START)}
    both = {**good, "kwhConsumedAc": 1.0}
    neither = {k: v for k, v in good.items() if k != "kwhRegisterAc"}
    with services.gateway() as gw:
        resp = gw.post("/v1/ingest", json=[good, both, neither])
        assert resp.status_code == 422, resp.text
        errors = [(e["index"], e["field"], e["type"]) for e in resp.json()["errors"]]
        assert errors == [
            (1, "kwhConsumedAc", "meter_energy_exclusive"),
            (2, "kwhConsumedAc", "meter_energy_missing"),
        ]
        assert all(e["message"] for e in resp.json()["errors"])
    with services.db() as db:  # all-or-nothing: the good reading was not published either
        row = db.execute("SELECT count(*) FROM meter_telemetry WHERE meter_id = %s", (meter,)).fetchone()
        assert row == (0,)
