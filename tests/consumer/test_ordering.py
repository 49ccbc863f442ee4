"""Device retries, shuffled order and late readings: history, status and rollups agree."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import httpx

from tests.consumer.fleet import Fleet
from tests.consumer.ledger import (
    CONSISTENT,
    Tally,
    consistency,
    tally,
    until,
    voltage_sum_mismatches,
    wait_stored,
)
from tests.consumer.load import key_of, meter, vehicle
from tests.support import recent_minute, unique

DEVICES = 40  # of each kind
READINGS = 30  # per device, spread over the last three days


def history(prefix: str, rng: random.Random) -> list[dict[str, Any]]:
    """Each device's readings at random minutes of the last ~3 days (late ones included)."""
    now = recent_minute(1)
    out = []
    for d in range(DEVICES):
        minutes = rng.sample(range(0, 3 * 24 * 60), READINGS)
        out += [meter(f"{prefix}-m{d}", now - timedelta(minutes=m), rng) for m in minutes]
        out += [vehicle(f"{prefix}-v{d}", now - timedelta(minutes=m), rng) for m in minutes]
    return out


def post_all(client: httpx.Client, readings: list[dict[str, Any]], rng: random.Random) -> None:
    """Post in shuffled order, in bodies of random size."""
    readings = readings[:]
    rng.shuffle(readings)
    while readings:
        size = rng.randint(1, 150)
        body, readings = readings[:size], readings[size:]
        resp = client.post("/v1/ingest", json=body)
        assert resp.status_code == 202, resp.text


def test_replayed_shuffled_and_late_readings(fleet: Fleet, gateway: str, record: list[Tally]) -> None:
    prefix = unique("ord")
    rng = random.Random(7)
    readings = history(prefix, rng)
    # The same identity again with other values: the first one acknowledged must win.
    conflicting = [dict(r, voltage=999.0) for r in readings if r["type"] == "meter"][:20]
    for name in ("c1", "c2"):
        fleet.start(name)
    for name in ("c1", "c2"):
        fleet.wait_metrics(name)
    until(lambda: all(fleet.metric(n, "consumer_assigned_partitions") for n in ("c1", "c2")), 30, "both own")
    headers = {"Authorization": f"Bearer {fleet.env['INGEST_TOKEN']}"}
    with httpx.Client(base_url=gateway, headers=headers, timeout=30) as client:
        post_all(client, readings, rng)
        post_all(client, readings + conflicting, rng)  # every reading a second time
    acknowledged = {key_of(r) for r in readings}
    posted = 2 * len(readings) + len(conflicting)
    with fleet.db() as db:
        wait_stored(db, prefix, len(acknowledged))
        until(lambda: not fleet.lagging(), 60, "group caught up with the topics")
        row = tally("5 replay+shuffle+late", db, prefix, acknowledged)
        print(row.line())
        assert consistency(db, prefix) == CONSISTENT
        assert voltage_sum_mismatches(db, prefix, readings) == []  # the first of each identity
        overwritten = db.execute(
            "SELECT count(*) FROM meter_telemetry WHERE meter_id LIKE %s AND voltage = 999.0", (prefix + "%",)
        ).fetchone()
        days = db.execute(
            "SELECT count(DISTINCT ts::date) FROM vehicle_telemetry WHERE vehicle_id LIKE %s", (prefix + "%",)
        ).fetchone()
    assert overwritten == (0,), "a later reading with the same identity never replaces the stored one"
    assert days is not None
    assert days[0] >= 3, "late readings landed in day partitions created on demand"
    skipped = sum(fleet.metric(n, "consumer_duplicates_skipped_total") for n in ("c1", "c2"))
    assert skipped == posted - len(acknowledged), "each replayed copy was recognised as a duplicate"
    assert (row.stored, row.duplicates, row.lost) == (row.acknowledged, 0, 0), row.line()
    row.note = f"{posted} posted for {len(acknowledged)} identities; {int(skipped)} skipped as duplicates"
    record.append(row)
    with fleet.db() as db:  # the checks above can fail: one wrong status row, one wrong rollup
        db.execute("UPDATE vehicle_status SET soc = soc + 1 WHERE vehicle_id = %s", (f"{prefix}-v0",))
        db.execute(
            "UPDATE meter_hourly SET samples = samples + 1 WHERE (meter_id, hour) = "
            "(SELECT meter_id, min(hour) FROM meter_hourly WHERE meter_id = %s GROUP BY 1)",
            (f"{prefix}-m0",),
        )
        broken = consistency(db, prefix)
    assert broken == CONSISTENT | {"vehicle_status": 1, "meter_rollup": 1}
