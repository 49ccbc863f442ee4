"""A reading sent twice is stored once; a late reading never moves status back in time."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from tests.support import Services, eventually, iso, recent_minute, unique

pytestmark = pytest.mark.e2e


BASE = recent_minute(0)


def at(minutes_ago: int) -> datetime:
    return BASE - timedelta(minutes=minutes_ago)


def _vehicle(vid: str, minutes_ago: int, soc: float, kwh: float) -> dict[str, object]:
    return {
        "type": "vehicle",
        "vehicleId": vid,
        "soc": soc,
        "kwhDeliveredDc": kwh,
        "batteryTemp": 30.0,
        "timestamp": iso(at(minutes_ago)),
    }


def test_duplicate_is_stored_once_and_late_reading_does_not_rewind_status(services: Services) -> None:
    vid = unique("v-dup")
    newer = _vehicle(vid, 5, soc=70.0, kwh=3.0)
    older = _vehicle(vid, 10, soc=40.0, kwh=1.0)
    marker = _vehicle(vid, 1, soc=75.0, kwh=0.5)
    with services.gateway() as gw:
        assert gw.post("/v1/ingest", json=newer).status_code == 202
        assert gw.post("/v1/ingest", json=newer).status_code == 202  # device retry
        assert gw.post("/v1/ingest", json=[newer, older]).status_code == 202  # replay + late one
        with services.db() as db:
            eventually(
                lambda: db.execute(
                    "SELECT 1 FROM vehicle_telemetry WHERE vehicle_id = %s AND ts = %s", (vid, at(10))
                ).fetchone()
            )
            status = db.execute("SELECT ts, soc FROM vehicle_status WHERE vehicle_id = %s", (vid,)).fetchone()
            assert status == (at(5), 70.0), "a late reading moved the status back"
            assert gw.post("/v1/ingest", json=marker).status_code == 202
            eventually(
                lambda: db.execute(
                    "SELECT 1 FROM vehicle_status WHERE vehicle_id = %s AND ts = %s", (vid, at(1))
                ).fetchone()
            )
            rows = db.execute(
                "SELECT count(*), count(DISTINCT ts), sum(kwh_delivered_dc) FROM vehicle_telemetry "
                "WHERE vehicle_id = %s",
                (vid,),
            ).fetchone()
            assert rows == (3, 3, Decimal("4.5"))
            rolled = db.execute(
                "SELECT sum(samples), sum(kwh_delivered_dc) FROM vehicle_hourly WHERE vehicle_id = %s", (vid,)
            ).fetchone()
            assert rolled == (3, Decimal("4.5")), "a duplicate was counted in the rollups"


def test_status_equals_newest_history_row_after_shuffled_delivery(services: Services) -> None:
    vid = unique("v-shuffle")
    order = [7, 2, 9, 1, 8, 3, 6, 4, 5, 0]
    batch = [_vehicle(vid, 20 - m, soc=float(m * 10), kwh=0.25) for m in order]
    with services.gateway() as gw:
        assert gw.post("/v1/ingest", json=batch[:5]).status_code == 202
        assert gw.post("/v1/ingest", json=batch[5:] + batch[:3]).status_code == 202
    with services.db() as db:
        eventually(
            lambda: (
                db.execute(
                    "SELECT count(*) = 10 FROM vehicle_telemetry WHERE vehicle_id = %s", (vid,)
                ).fetchone()
                == (True,)
            )
        )
        newest = db.execute(
            "SELECT ts, soc FROM vehicle_telemetry WHERE vehicle_id = %s ORDER BY ts DESC LIMIT 1", (vid,)
        ).fetchone()
        status = db.execute("SELECT ts, soc FROM vehicle_status WHERE vehicle_id = %s", (vid,)).fetchone()
        assert status == newest == (at(11), 90.0)
        assert at(11) + timedelta(minutes=1) > status[0]
