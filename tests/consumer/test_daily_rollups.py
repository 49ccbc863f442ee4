"""Daily rollups through the real consumer: replays, duplicates, shuffled and late readings
over several UTC days, and every (device, day) row equal to the readings sent, in Python.
The daily rollups are views over the hourly ones (migration 0018): what this checks is the
hourly rows the consumer keeps, summed by day."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from tests.consumer.fleet import Fleet
from tests.consumer.ledger import Conn, until, wait_stored
from tests.consumer.load import key_of, meter, vehicle
from tests.consumer.test_ordering import post_all
from tests.support import recent_minute, unique

DEVICES = 12  # of each kind
READINGS = 40  # per device, over the last three days (across two or three midnights)


def _day(reading: dict[str, Any]) -> datetime:
    at = datetime.fromisoformat(reading["timestamp"]).astimezone(UTC)
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def expected_daily(readings: list[dict[str, Any]]) -> dict[tuple[str, str, datetime], tuple[Any, ...]]:
    """(kind, device, day) -> the day's aggregates over the readings sent (each identity once)."""
    groups: dict[tuple[str, str, datetime], list[dict[str, Any]]] = defaultdict(list)
    for r in readings:
        groups[(r["type"], r.get("meterId") or r["vehicleId"], _day(r))].append(r)
    out: dict[tuple[str, str, datetime], tuple[Any, ...]] = {}
    for key, rs in groups.items():
        if key[0] == "meter":
            volts = [float(r["voltage"]) for r in rs]
            kwh = sum((Decimal(repr(r["kwhConsumedAc"])) for r in rs), Decimal(0))
            out[key] = (kwh, min(volts), max(volts), math.fsum(volts), len(rs))
        else:
            kwh = sum((Decimal(repr(r["kwhDeliveredDc"])) for r in rs), Decimal(0))
            temps = [Decimal(repr(r["batteryTemp"])) for r in rs]
            socs = [float(r["soc"]) for r in rs]
            out[key] = (kwh, sum(temps, Decimal(0)), max(temps), min(socs), max(socs), len(rs))
    return out


def stored_daily(db: Conn, prefix: str) -> dict[tuple[str, str, datetime], tuple[Any, ...]]:
    """The same, as the daily rollup views give it."""
    p = prefix + "%"
    out: dict[tuple[str, str, datetime], tuple[Any, ...]] = {}
    for m, d, kwh, lo, hi, vsum, n in db.execute(
        "SELECT meter_id, day, kwh_consumed_ac, voltage_min, voltage_max, voltage_sum, samples"
        " FROM meter_daily WHERE meter_id LIKE %s",
        (p,),
    ).fetchall():
        out[("meter", m, d.astimezone(UTC))] = (kwh, lo, hi, vsum, n)
    for v, d, kwh, tsum, tmax, slo, shi, n in db.execute(
        "SELECT vehicle_id, day, kwh_delivered_dc, battery_temp_sum, battery_temp_max, soc_min, soc_max,"
        " samples FROM vehicle_daily WHERE vehicle_id LIKE %s",
        (p,),
    ).fetchall():
        out[("vehicle", v, d.astimezone(UTC))] = (kwh, tsum, tmax, slo, shi, n)
    return out


def mismatches(
    want: dict[tuple[str, str, datetime], tuple[Any, ...]],
    got: dict[tuple[str, str, datetime], tuple[Any, ...]],
) -> list[str]:
    """Keys on one side only or with other values (float sums to 1e-9 relative)."""
    wrong = []
    for key in want.keys() | got.keys():
        w, g = want.get(key), got.get(key)
        same = (
            w is not None
            and g is not None
            and len(w) == len(g)
            and all(
                math.isclose(a, b, rel_tol=1e-9) if isinstance(a, float) else a == b
                for a, b in zip(w, g, strict=True)
            )
        )
        if not same:
            wrong.append(f"{key}: stored {g}, sent {w}")
    return sorted(wrong)


def test_daily_rollups_count_each_reading_once(fleet: Fleet, gateway: str) -> None:
    prefix = unique("day")
    rng = random.Random(11)
    now = recent_minute(1)
    readings: list[dict[str, Any]] = []
    for d in range(DEVICES):
        minutes = rng.sample(range(0, 3 * 24 * 60), READINGS)
        readings += [meter(f"{prefix}-m{d}", now - timedelta(minutes=m), rng) for m in minutes]
        readings += [vehicle(f"{prefix}-v{d}", now - timedelta(minutes=m), rng) for m in minutes]
    # the same identities again with other values: the first one stored must count, only once
    conflicting = [dict(r, voltage=999.0, kwhConsumedAc=1.5) for r in readings if r["type"] == "meter"][:30]
    conflicting += [dict(r, kwhDeliveredDc=1.7, soc=1.0) for r in readings if r["type"] == "vehicle"][:30]
    fleet.start("c1")
    fleet.wait_metrics("c1")
    until(lambda: fleet.metric("c1", "consumer_assigned_partitions") > 0, 30, "c1 owns partitions")
    headers = {"Authorization": f"Bearer {fleet.env['INGEST_TOKEN']}"}
    newest_first = sorted(readings, key=lambda r: str(r["timestamp"]), reverse=True)
    half = len(newest_first) // 2
    with httpx.Client(base_url=gateway, headers=headers, timeout=30) as client:
        post_all(client, newest_first[:half], rng)  # the newer half first: the rest arrives late
        with fleet.db() as db:
            wait_stored(db, prefix, half)
        post_all(client, newest_first[half:], rng)
        post_all(client, readings + conflicting, rng)  # every reading a second time, some changed
    with fleet.db() as db:
        wait_stored(db, prefix, len({key_of(r) for r in readings}))
        until(lambda: not fleet.lagging(), 60, "group caught up with the topics")
        want = expected_daily(readings)
        assert len({k[2] for k in want}) >= 3, "the readings span at least three UTC days"
        assert mismatches(want, stored_daily(db, prefix)) == []
        # and the check can fail: one sample more in one hour makes its day's row wrong
        one_more = (
            "UPDATE vehicle_hourly SET samples = samples + %s WHERE (vehicle_id, hour) = "
            "(SELECT vehicle_id, min(hour) FROM vehicle_hourly WHERE vehicle_id = %s GROUP BY 1)"
        )
        db.execute(one_more, (1, f"{prefix}-v0"))
        assert len(mismatches(want, stored_daily(db, prefix))) == 1
        db.execute(one_more, (-1, f"{prefix}-v0"))
