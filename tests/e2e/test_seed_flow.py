"""The seed's journey: device → gateway → Kafka → consumer → PostgreSQL → analytics."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.support import Services, eventually, iso, recent_minute, unique

pytestmark = pytest.mark.e2e


def test_seed_payloads_flow_to_hot_tables_and_analytics(services: Services) -> None:
    meter, vehicle = unique("m"), unique("v")
    t0 = recent_minute(30)
    t1 = t0 + timedelta(minutes=1)
    readings = [
        {"type": "meter", "meterId": meter, "kwhConsumedAc": 50.5, "voltage": 240, "timestamp": iso(t0)},
        {"type": "meter", "meterId": meter, "kwhConsumedAc": 10.0, "voltage": 238.5, "timestamp": iso(t1)},
        {
            "type": "vehicle",
            "vehicleId": vehicle,
            "soc": 80.0,
            "kwhDeliveredDc": 48.0,
            "batteryTemp": 35.2,
            "timestamp": iso(t0),
        },
        {
            "type": "vehicle",
            "vehicleId": vehicle,
            "soc": 85.0,
            "kwhDeliveredDc": 2.0,
            "batteryTemp": 36.8,
            "timestamp": iso(t1),
        },
    ]
    with services.gateway() as gw:
        for r in readings:  # one at a time, as the seed's curl commands do
            resp = gw.post("/v1/ingest", json=r)
            assert resp.status_code == 202, resp.text
            assert resp.json() == {"accepted": 1}

    with services.analytics(services.env["ADMIN_TOKEN"]) as admin:
        put = admin.put(f"/v1/mappings/meters/{meter}", json={"vehicleId": vehicle})
        assert put.status_code in (200, 201), put.text

    with services.db() as db:
        vrow = eventually(
            lambda: db.execute(
                "SELECT ts, soc, kwh_delivered_dc, battery_temp FROM vehicle_status "
                "WHERE vehicle_id = %s AND ts = %s",
                (vehicle, t1),
            ).fetchone()
        )
        mrow = eventually(
            lambda: db.execute(
                "SELECT ts, kwh_consumed_ac, voltage FROM meter_status WHERE meter_id = %s AND ts = %s",
                (meter, t1),
            ).fetchone()
        )
        assert vrow == (t1, 85.0, Decimal("2.0"), Decimal("36.8"))
        assert mrow == (t1, Decimal("10.0"), 238.5)
        hourly = db.execute(
            "SELECT sum(kwh_delivered_dc), sum(samples) FROM vehicle_hourly WHERE vehicle_id = %s",
            (vehicle,),
        ).fetchone()
        assert hourly == (Decimal("50.0"), 2)

    with services.analytics() as api:
        perf = api.get(f"/v1/analytics/performance/{vehicle}")
        assert perf.status_code == 200, perf.text
        body = perf.json()
        assert body["vehicleId"] == vehicle
        assert body["totalKwhConsumedAc"] == pytest.approx(60.5, abs=1e-12)
        assert body["totalKwhDeliveredDc"] == pytest.approx(50.0, abs=1e-12)
        assert body["efficiencyRatio"] == pytest.approx(50.0 / 60.5, rel=1e-12)
        assert body["avgBatteryTemp"] == pytest.approx(36.0, abs=1e-12)
        assert body["meterIds"] == [meter]

        status = api.get(f"/v1/vehicles/{vehicle}/status")
        assert status.status_code == 200
        assert status.json()["soc"] == 85.0
        assert api.get(f"/v1/meters/{meter}/status").json()["voltage"] == 238.5
        assert api.get(f"/v1/vehicles/{unique('v-none')}/status").status_code == 404
