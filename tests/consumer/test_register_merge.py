"""The register merge, written by the consumer's own BatchWriter, against a plain-Python reference.

Random register series (gaps from a minute to two days, so that the neighbour lookups use
both their day-near and their far branch; resets; voltage sometimes absent), shuffled with
duplicates into random batches, then replayed whole: every stored derived energy, hourly
and daily rollup, sample and voltage count and the status equal the sorted series'.
A meter that mixes interval and register readings keeps the two apart.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from consumer.batch import Batch, RegisterRow
from consumer.writer import BatchWriter
from tests.e2e.register_cases import attributed, buckets, running
from tests.support import unique

START = datetime(2026, 6, 1, tzinfo=UTC)


def series(rng: random.Random) -> dict[datetime, Decimal]:
    out: dict[datetime, Decimal] = {}
    ts, reg = START + timedelta(minutes=rng.randint(0, 600)), Decimal(rng.randint(0, 4000)) / 8
    for _ in range(30):
        ts += timedelta(minutes=rng.choice([1, 7, 31, 95, 1500, 3000]))
        reg = (
            Decimal(rng.randint(0, 80)) / 8 if rng.random() < 0.08 else reg + Decimal(rng.randint(0, 400)) / 8
        )
        out[ts] = reg
    return out


async def write(url: str, batches: list[list[RegisterRow]]) -> None:
    writer = BatchWriter(url, group_id=unique("register-merge"))
    try:
        for rows in batches:
            batch = Batch(generation=0, registers=rows, days={r[1].date() for r in rows})
            await writer.write(batch)
    finally:
        await writer.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_arrival_orders_store_the_sorted_series_energy(
    stack_env: dict[str, str], seed: int
) -> None:
    rng = random.Random(seed)
    meters = {unique(f"rm{seed}"): series(rng) for _ in range(3)}
    volts = {
        (m, ts): None if rng.random() < 0.3 else 230.0 + rng.randint(0, 10)
        for m, s in meters.items()
        for ts in s
    }
    readings = [(m, ts, reg) for m, s in meters.items() for ts, reg in s.items()]
    readings += rng.sample(readings, 15)
    rng.shuffle(readings)
    offset = iter(range(10**6))
    rows: list[RegisterRow] = [
        (m, ts, float(reg), volts[(m, ts)], None, 0, next(offset)) for m, ts, reg in readings
    ]
    batches, i = [], 0
    while i < len(rows):
        n = rng.randint(1, 25)
        batches.append(rows[i : i + n])
        i += n
    batches.append([(*r[:6], next(offset)) for r in rows])  # a replay of everything
    await write(stack_env["CONSUMER_DATABASE_URL"], batches)

    with psycopg.connect(stack_env["DATABASE_URL"]) as db:
        for meter, s in meters.items():
            energy = attributed(s)
            stored: dict[datetime, Decimal] = dict(
                db.execute("SELECT ts, kwh_consumed_ac FROM meter_telemetry WHERE meter_id = %s", (meter,))
            )
            assert stored == energy
            for table, unit in (("meter_hourly", "hour"), ("meter_daily", "day")):
                got: dict[datetime, Decimal] = dict(
                    db.execute(f"SELECT {unit}, kwh_consumed_ac FROM {table} WHERE meter_id = %s", (meter,))
                )
                assert got == buckets(energy, unit), table
            through = db.execute(
                "SELECT hour, kwh_through, samples_through FROM meter_hourly WHERE meter_id = %s", (meter,)
            ).fetchall()
            assert {h: (k, n) for h, k, n in through} == running(energy)
            with_volts = [v for (m, _), v in volts.items() if m == meter and v is not None]
            counts = db.execute(
                "SELECT sum(samples), sum(samples - voltage_missing), sum(voltage_sum) FROM meter_daily"
                " WHERE meter_id = %s",
                (meter,),
            ).fetchone()
            assert counts == (len(s), len(with_volts), pytest.approx(sum(with_volts)))
            last = max(s)
            status = db.execute(
                "SELECT ts, kwh_consumed_ac, kwh_register_ac, voltage FROM meter_status WHERE meter_id = %s",
                (meter,),
            ).fetchone()
            assert status == (last, energy[last], s[last], volts[(meter, last)])


async def test_interval_readings_of_a_register_meter_stay_out_of_its_chain(stack_env: dict[str, str]) -> None:
    meter = unique("rm-mixed")
    t = [START + timedelta(minutes=10 * i) for i in range(4)]
    batch = Batch(
        generation=0,
        meters=[(meter, t[1], 2.5, 230.0, None, 0, 1)],
        registers=[(meter, t[0], 100.0, None, None, 0, 0), (meter, t[2], 104.0, None, None, 0, 2)],
        days={START.date()},
    )
    late = Batch(generation=0, registers=[(meter, t[3], 101.0, None, None, 0, 3)], days={START.date()})
    writer = BatchWriter(stack_env["CONSUMER_DATABASE_URL"], group_id=unique("register-mixed"))
    try:
        await writer.write(batch)
        await writer.write(late)
    finally:
        await writer.close()
    with psycopg.connect(stack_env["DATABASE_URL"]) as db:
        rows = db.execute(
            "SELECT ts, kwh_consumed_ac, kwh_register_ac FROM meter_telemetry WHERE meter_id = %s"
            " ORDER BY ts",
            (meter,),
        ).fetchall()
    # the interval reading keeps its own energy; the registers' chain skips it: 104 - 100, then a reset to 101
    assert rows == [
        (t[0], Decimal(0), Decimal(100)),
        (t[1], Decimal("2.5"), None),
        (t[2], Decimal(4), Decimal(104)),
        (t[3], Decimal(101), Decimal(101)),
    ]


async def test_two_writers_with_one_meter_merge_one_after_the_other(stack_env: dict[str, str]) -> None:
    """Two transactions holding readings of one meter (a rebalance's overlap, or its key moved
    to another partition): each one's chain must see the other's committed rows."""
    meter = unique("rm-two")
    reg = {START + timedelta(minutes=i): Decimal(10 * i + i % 3) for i in range(120)}
    evens: list[RegisterRow] = [
        (meter, ts, float(r), None, None, 0, i) for i, (ts, r) in enumerate(reg.items()) if i % 2 == 0
    ]
    odds: list[RegisterRow] = [
        (meter, ts, float(r), None, None, 1, i) for i, (ts, r) in enumerate(reg.items()) if i % 2 == 1
    ]
    writers = [
        BatchWriter(stack_env["CONSUMER_DATABASE_URL"], group_id=unique("register-two")) for _ in range(2)
    ]
    try:
        for first, second in zip(range(0, 60, 6), range(0, 60, 6), strict=True):
            await asyncio.gather(
                writers[0].write(
                    Batch(generation=0, registers=evens[first : first + 6], days={START.date()})
                ),
                writers[1].write(
                    Batch(generation=0, registers=odds[second : second + 6], days={START.date()})
                ),
            )
    finally:
        for w in writers:
            await w.close()
    with psycopg.connect(stack_env["DATABASE_URL"]) as db:
        stored: dict[datetime, Decimal] = dict(
            db.execute("SELECT ts, kwh_consumed_ac FROM meter_telemetry WHERE meter_id = %s", (meter,))
        )
        hourly = db.execute(
            "SELECT sum(kwh_consumed_ac) FROM meter_hourly WHERE meter_id = %s", (meter,)
        ).fetchone()
    assert stored == attributed(reg)
    assert hourly == (sum(attributed(reg).values()),)


def test_the_consumer_may_update_only_the_derived_energy_of_history(stack_env: dict[str, str]) -> None:
    with psycopg.connect(stack_env["CONSUMER_DATABASE_URL"], autocommit=True) as db:
        db.execute("UPDATE meter_telemetry SET kwh_consumed_ac = kwh_consumed_ac WHERE false")
        for statement in (
            "UPDATE meter_telemetry SET kwh_register_ac = 0 WHERE false",
            "UPDATE meter_telemetry SET voltage = 0 WHERE false",
            "UPDATE vehicle_telemetry SET kwh_delivered_dc = 0 WHERE false",
            "DELETE FROM meter_telemetry WHERE false",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db.execute(statement)
