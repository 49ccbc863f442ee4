"""Real chargers, end to end: an OCPP 1.6J and a 2.0.1 charge point (the ``ocpp`` library's
ChargePoint as the client, over real WebSockets) charge a vehicle whose card was registered
for it; the gateway, the consumer and the analytics API are the session's real processes.

Each session has registers in Wh, in kWh (and, on 2.0.1, in Wh x 10^3), per phase with
Voltage, a register reset, a reconnect and a duplicate sample, then the stop. The
performance endpoint and ``GET /v1/vehicles/{id}/sessions`` must give the energy the
register series says by the issue's rule (computed here in plain Python from the values
sent), the meter must be mapped to the vehicle through the card alone, and the vehicle's
DC over HTTP pairs with it. With ``OCPP_TRANSCRIPTS=DIR`` each test writes its frames and
the session row to ``DIR/<protocol>.md`` (docs/ocpp-transcripts.md is made from them).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from common.tokens import Scope, issue
from simulator.ocpp_plan import UnitStyle
from simulator.ocpp_station import StationConfig
from simulator.ocpp_transcript import transcript_markdown
from tests.e2e.ocpp_peer import Sample, Script, energy_wh, play
from tests.support import Services, eventually, iso, recent_minute, unique

pytestmark = pytest.mark.e2e

EFFICIENCY = 0.9

SCRIPTS = {
    "ocpp1.6": lambda start: Script(
        start=start,
        start_wh=1_234_000,
        steps=(
            Sample(1, 1_234_567, UnitStyle.WH),
            Sample(2, 1_235_250, UnitStyle.KWH, voltage=229.5),
            Sample(3, 1_236_100, UnitStyle.WH, per_phase=True, voltage=231.0),
            Sample(4, 400, UnitStyle.KWH),  # the register was reset
            "reconnect",
            Sample(5, 1_100, UnitStyle.WH),
            "dup",
            Sample(6, 2_500, UnitStyle.KWH),
        ),
        stop_minute=7,
        stop_wh=3_000,
    ),
    "ocpp2.0.1": lambda start: Script(
        start=start,
        start_wh=7_000_000,
        steps=(
            Sample(1, 7_000_750, UnitStyle.KWH_MULTIPLIER),  # unit Wh, multiplier 3
            Sample(2, 7_001_500, UnitStyle.KWH, voltage=230.5),
            Sample(3, 7_002_250, UnitStyle.WH, per_phase=True, voltage=229.0),
            Sample(4, 300, UnitStyle.WH),  # the register was reset
            "reconnect",
            Sample(5, 900, UnitStyle.KWH_MULTIPLIER),
            "dup",
            Sample(6, 1_600, UnitStyle.KWH),
        ),
        stop_minute=7,
        stop_wh=2_200,
        stop_style=UnitStyle.KWH_MULTIPLIER,
    ),
}
# The same energies, added up by hand, so a mistake in energy_wh cannot hide one elsewhere.
BY_HAND_WH = {
    "ocpp1.6": 567 + 683 + 850 + 400 + 700 + 1_400 + 500,
    "ocpp2.0.1": 750 + 750 + 750 + 300 + 600 + 700 + 600,
}


def _dc_readings(vehicle: str, script: Script) -> tuple[list[dict[str, Any]], float]:
    """The vehicle's DC at each register reading of the session (EFFICIENCY of the AC), plus
    one reading after the stop that no session figure may count; and the session's DC."""
    series = sorted(dict(script.series()).items())
    readings, in_session = [], 0.0
    for (_, before), (ts, reg) in itertools.pairwise(series):
        kwh = round((reg - before if reg >= before else reg) / 1000 * EFFICIENCY, 6)
        in_session += kwh
        readings.append(_vehicle(vehicle, iso(ts), kwh))
    readings.append(_vehicle(vehicle, iso(script.stop + timedelta(minutes=3)), 5.0))
    return readings, in_session


def _vehicle(vehicle: str, ts: str, kwh: float) -> dict[str, Any]:
    return {
        "type": "vehicle",
        "vehicleId": vehicle,
        "soc": 50.0,
        "kwhDeliveredDc": kwh,
        "batteryTemp": 30.0,
        "timestamp": ts,
    }


def _session_of(body: Any, transaction_id: str) -> dict[str, Any] | None:
    rows = body["sessions"] if isinstance(body, dict) else body
    return next((r for r in rows if str(r.get("transactionId")) == transaction_id), None)


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
def test_a_charge_point_session_gives_exact_register_energy_mapped_through_its_card(
    services: Services, protocol: str
) -> None:
    env = services.env
    cp, vehicle, id_tag = unique("cp-e2e"), unique("v-ocpp"), unique("tag")
    meter = f"{cp}:1"
    script = SCRIPTS[protocol](recent_minute(40))
    expected_wh = energy_wh(script.series(), script.start, script.stop)
    assert expected_wh == BY_HAND_WH[protocol]
    expected_kwh = expected_wh / 1000

    with services.analytics(env["ADMIN_TOKEN"]) as admin:
        put = admin.put(f"/v1/idtags/{id_tag}", json={"vehicleId": vehicle})
        assert put.status_code in (200, 201), put.text
    dc, dc_in_session = _dc_readings(vehicle, script)
    with services.gateway() as gw:
        assert gw.post("/v1/ingest", json=dc).status_code == 202

    frames: list[tuple[str, str]] = []
    ws_base = env["GATEWAY_URL"].replace("http://", "ws://") + "/ocpp"
    config = StationConfig(
        cp, protocol, ws_base, issue(env["AUTH_SECRET"], Scope.CHARGER, cp), response_timeout_s=15
    )
    transaction_id = asyncio.run(play(config, script, id_tag, frames))
    sent_calls = [f for d, f in frames if d == "sent"]
    answers = [json.loads(f) for d, f in frames if d == "received"]
    assert len(answers) == len(sent_calls)
    assert all(a[0] == 3 for a in answers), [a for a in answers if a[0] != 3]

    with services.analytics() as api:
        window = {"from": iso(script.start), "to": iso(script.stop + timedelta(seconds=1))}

        def stopped_session() -> dict[str, Any] | None:
            r = api.get(f"/v1/vehicles/{vehicle}/sessions", params=window)
            if r.status_code != 200:
                return None
            row = _session_of(r.json(), transaction_id)
            if row is None or row.get("stop") is None:
                return None
            return row if row.get("kwhConsumedAc") == pytest.approx(expected_kwh, abs=1e-9) else None

        try:
            session = eventually(stopped_session, timeout=45)
        except AssertionError:
            last = api.get(f"/v1/vehicles/{vehicle}/sessions", params=window)
            raise AssertionError(
                f"no stopped session of {expected_kwh} kWh: {last.status_code} {last.text}"
            ) from None
        assert session["chargePointId"] == cp
        assert session["connectorId"] == 1
        assert session["transactionId"] == transaction_id
        assert session["start"].replace("+00:00", "Z") == iso(script.start)
        assert session["stop"].replace("+00:00", "Z") == iso(script.stop)
        assert session["kwhDeliveredDc"] == pytest.approx(dc_in_session, abs=1e-9)
        assert session["efficiencyRatio"] == pytest.approx(dc_in_session / expected_kwh, rel=1e-9)

        perf = api.get(f"/v1/analytics/performance/{vehicle}", params=window)
        assert perf.status_code == 200, perf.text
        body = perf.json()
        assert body["meterIds"] == [meter], "the card did not map the connector's meter to the vehicle"
        assert body["totalKwhConsumedAc"] == pytest.approx(expected_kwh, abs=1e-9)
        assert body["totalKwhDeliveredDc"] == pytest.approx(dc_in_session, abs=1e-9)

        mappings = api.get(f"/v1/mappings/meters/{meter}")
        assert mappings.status_code == 200, mappings.text
        rows = mappings.json()["mappings"]
        assert [(m["vehicleId"], m["source"], m["transactionId"]) for m in rows] == [
            (vehicle, "ocpp", transaction_id)
        ]

    if os.environ.get("OCPP_TRANSCRIPTS"):
        out = Path(os.environ["OCPP_TRANSCRIPTS"]) / f"{protocol}.md"
        row = json.dumps(session, indent=2)
        out.write_text(transcript_markdown(protocol, cp, frames) + f"\nSession row:\n\n```json\n{row}\n```\n")
