"""Retention: old day partitions are dropped by the retention job (its own login); a
reading older than the horizon is rejected by the consumer."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import timedelta

import httpx

from energy_ingest.service_env import service_env
from tests.consumer.fleet import Fleet
from tests.consumer.ledger import stored_count, until
from tests.consumer.load import key_of, meter
from tests.support import recent_minute, unique

REJECTS_OF = """
SELECT reason, convert_from(raw, 'UTF8') FROM ingest_rejects WHERE position(%s::bytea IN raw) > 0
"""


def test_retention_drops_old_days_and_rejects_expired_readings(fleet: Fleet, gateway: str) -> None:
    prefix = unique("rt")
    rng = random.Random(3)
    now = recent_minute(2)
    old_day = (now - timedelta(days=60)).date()
    partition = f"meter_telemetry_{old_day:%Y%m%d}"
    with fleet.db() as db:
        db.execute("SELECT ensure_day_partitions(ARRAY[%s]::date[])", (old_day,))
        db.execute(
            "INSERT INTO meter_telemetry (meter_id, ts, kwh_consumed_ac, voltage) VALUES (%s, %s, 1, 230)",
            (f"{prefix}-ancient", now - timedelta(days=60)),
        )
    fresh = [meter(f"{prefix}-m{i}", now - timedelta(minutes=i), rng) for i in range(20)]
    expired = [meter(f"{prefix}-m{i}", now - timedelta(days=40, minutes=i), rng) for i in range(5)]
    fleet.start("c1", {"RETENTION_DAYS": "30"})
    headers = {"Authorization": f"Bearer {fleet.env['INGEST_TOKEN']}"}
    with httpx.Client(base_url=gateway, headers=headers, timeout=30) as client:
        resp = client.post("/v1/ingest", json=fresh + expired)
        assert resp.status_code == 202, resp.text
    until(lambda: not fleet.lagging(), 60, "group caught up")
    with fleet.db() as db:
        kept_by_consumer = db.execute("SELECT to_regclass(%s)", (partition,)).fetchone()
    job = subprocess.run(
        [sys.executable, "-m", "energy_ingest.cli", "retention", "--once"],
        env=service_env("retention", os.environ | fleet.env | {"RETENTION_DAYS": "30"}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert job.returncode == 0, job.stderr
    with fleet.db() as db:
        stored = stored_count(db, prefix)
        rows = db.execute(REJECTS_OF, (prefix.encode(),)).fetchall()
        dropped = db.execute("SELECT to_regclass(%s)", (partition,)).fetchone()
    assert stored == len(fresh), "the fresh readings are stored and the 60-day-old row is gone"
    assert sorted(reason for reason, _ in rows) == ["expired"] * len(expired)
    assert {key_of(json.loads(raw)) for _, raw in rows} == {key_of(r) for r in expired}
    assert kept_by_consumer == (partition,), "the consumer no longer drops history"
    assert dropped == (None,), f"{partition} was dropped by the retention job"
    assert "dropped" in job.stdout
    assert fleet.metric("c1", "consumer_rejects_total", {"reason": "expired"}) == len(expired)
