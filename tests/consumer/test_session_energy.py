"""The sessions route through the real consumer: each session's AC energy over (start, stop]
from the meter, DC and efficiency where the vehicle reported DC, CSV, pages, the time it
takes on sessions of hours at one reading a minute; the scopes and bad input of the card
and session routes. Expected values are computed in Python from the readings sent."""

from __future__ import annotations

import csv
import io
import random
import statistics
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tests.consumer.fleet import Fleet
from tests.consumer.sessions_fixtures import ADMIN, Api, api, caught_up, group
from tests.consumer.sessions_support import (
    Event,
    kwh,
    meter_record,
    produce,
    register_energy,
    register_record,
    vehicle_record,
)
from tests.support import iso, recent_minute, unique

__all__ = ["api", "group"]  # the module's fixtures


def dec(cell: str) -> Decimal | None:
    return Decimal(cell) if cell else None


async def test_session_energies_efficiency_csv_and_pages(group: Fleet, api: Api) -> None:
    cp, tag, vehicle = unique("cpe"), unique("TE"), unique("v-e")
    meter = f"{cp}:1"
    t0 = recent_minute(300)
    rng = random.Random(5)
    ac = {t0 + timedelta(minutes=i): round(rng.uniform(0.05, 0.4), 3) for i in range(280)}
    dc = {t0 + timedelta(minutes=i): round(rng.uniform(0.04, 0.3), 3) for i in range(10, 226)}
    spans = [
        (t0 + timedelta(minutes=17), t0 + timedelta(minutes=221)),
        (t0 + timedelta(minutes=230), t0 + timedelta(minutes=250)),
    ]
    events = [
        Event(cp, 1, "1", "started", spans[0][0], tag),
        Event(cp, 1, "1", "ended", spans[0][1], reason="Local"),
    ]
    events += [
        Event(cp, 1, "2", "started", spans[1][0], tag),
        Event(cp, 1, "2", "ended", spans[1][1], reason="EVDisconnected"),
    ]
    events.append(Event(cp, 1, "3", "started", t0 + timedelta(minutes=260), tag))  # still open
    readings = [meter_record(meter, t, v) for t, v in ac.items()] + [
        vehicle_record(vehicle, t, v) for t, v in dc.items()
    ]
    rng.shuffle(readings)
    assert (await api.put_idtag(tag, vehicle)).status_code == 201
    await produce(group.env, readings + [e.record() for e in events])
    await caught_up(group)
    now = t0 + timedelta(minutes=275, seconds=30)
    api.clock.now = now
    expected = []
    for start, stop in [*spans, (t0 + timedelta(minutes=260), None)]:
        end = stop or now
        a = kwh([v for t, v in ac.items() if start < t <= end])
        d = [v for t, v in dc.items() if start < t <= end]
        expected.append((start, stop, a, kwh(d) if d else None, float(kwh(d) / a) if d else None))
    assert expected[0][3] is not None
    assert expected[1][3] is None  # the vehicle reported no DC in the second session
    window = {"from": iso(t0), "to": iso(t0 + timedelta(hours=6))}
    got = await api.client.get(f"/v1/vehicles/{vehicle}/sessions", params=window)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["nextOffset"] is None
    assert [
        (
            datetime.fromisoformat(s["start"]),
            datetime.fromisoformat(s["stop"]) if s["stop"] else None,
            s["kwhConsumedAc"],
            s["kwhDeliveredDc"],
            s["efficiencyRatio"],
        )
        for s in body["sessions"]
    ] == [(s, e, float(a), float(d) if d is not None else None, r) for s, e, a, d, r in expected]
    assert [
        (s["transactionId"], s["chargePointId"], s["connectorId"], s["idTag"]) for s in body["sessions"]
    ] == [(tx, cp, 1, tag) for tx in ("1", "2", "3")]

    csv_answer = await api.client.get(
        f"/v1/vehicles/{vehicle}/sessions", params=window, headers={"Accept": "text/csv"}
    )
    assert csv_answer.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(csv_answer.text)))
    assert [
        (r["transactionId"], r["stop"], Decimal(r["kwhConsumedAc"]), dec(r["kwhDeliveredDc"])) for r in lines
    ] == [
        ("1", iso(spans[0][1]), expected[0][2], expected[0][3]),
        ("2", iso(spans[1][1]), expected[1][2], None),
        ("3", "", expected[2][2], None),
    ]

    page = (await api.client.get(f"/v1/vehicles/{vehicle}/sessions", params={**window, "limit": 2})).json()
    assert ([s["transactionId"] for s in page["sessions"]], page["nextOffset"]) == (["1", "2"], 2)
    rest = (
        await api.client.get(f"/v1/vehicles/{vehicle}/sessions", params={**window, "limit": 2, "offset": 2})
    ).json()
    assert ([s["transactionId"] for s in rest["sessions"]], rest["nextOffset"]) == (["3"], None)
    # A window that ends before the first session starts lists none of them.
    early = {"from": iso(t0 - timedelta(hours=2)), "to": iso(spans[0][0])}
    assert (await api.client.get(f"/v1/vehicles/{vehicle}/sessions", params=early)).json()["sessions"] == []

    timings = []
    for _ in range(20):
        started = time.perf_counter()
        assert (await api.client.get(f"/v1/vehicles/{vehicle}/sessions", params=window)).status_code == 200
        timings.append(time.perf_counter() - started)
    median_ms = statistics.median(timings) * 1000
    print(f"sessions route, 3 sessions (3.4 h, 20 min, open) at 1 reading/min: median {median_ms:.1f} ms")


async def test_scopes_and_bad_input(api: Api) -> None:
    tag, vehicle = unique("TS"), unique("v-s")
    analyst = await api.client.put(f"/v1/idtags/{tag}", json={"vehicleId": vehicle})
    assert analyst.status_code == 403
    forged = await api.client.put(
        f"/v1/idtags/{tag}", json={"vehicleId": vehicle}, headers={"Authorization": "Bearer nope"}
    )
    assert forged.status_code == 401
    assert (await api.client.get(f"/v1/idtags/{tag}")).status_code == 404  # nothing was registered
    bad_bodies: list[Any] = [
        {"vehicleId": "no spaces"},
        {"vehicleId": vehicle, "extra": 1},
        {},
        {"vehicleId": 7},
    ]
    for body in bad_bodies:
        got = await api.client.put(f"/v1/idtags/{tag}", json=body, headers=ADMIN)
        assert got.status_code == 422, (body, got.text)
    assert (
        await api.client.put(f"/v1/idtags/{'x' * 37}", json={"vehicleId": vehicle}, headers=ADMIN)
    ).status_code == 422
    assert (await api.put_idtag(tag, vehicle)).status_code == 201
    read = await api.client.get(f"/v1/idtags/{tag}")  # the analyst reads it back
    assert read.status_code == 200
    assert read.json()["current"]["vehicleId"] == vehicle
    assert (await api.client.get(f"/v1/vehicles/{vehicle}/sessions", headers=ADMIN)).json()["sessions"] == []
    assert (await api.client.get(f"/v1/vehicles/{unique('v-none')}/sessions")).status_code == 404
    for params in (
        {"from": "2024-03-02T00:00:00Z", "to": "2024-03-01T00:00:00Z"},
        {"limit": 0},
        {"limit": 1001},
        {"from": "yesterday"},
    ):
        got = await api.client.get(f"/v1/vehicles/{vehicle}/sessions", params=params)
        assert got.status_code == 422, (params, got.text)
    no_token = await api.client.get(f"/v1/vehicles/{vehicle}/sessions", headers={"Authorization": ""})
    assert no_token.status_code == 401


async def test_openapi_documents_the_session_routes(api: Api) -> None:
    paths = (await api.client.get("/openapi.json")).json()["paths"]
    card, sessions = paths["/v1/idtags/{idTag}"], paths["/v1/vehicles/{vehicleId}/sessions"]
    assert set(card) == {"put", "get"}
    assert {"200", "201", "400", "403", "409", "422"} <= set(card["put"]["responses"])
    assert "text/csv" in sessions["get"]["responses"]["200"]["content"]
    assert {p["name"] for p in sessions["get"]["parameters"]} >= {
        "vehicleId",
        "from",
        "to",
        "limit",
        "offset",
    }


async def test_session_energy_from_a_register_with_a_reset(group: Fleet, api: Api) -> None:
    cp, tag, vehicle = unique("cpr"), unique("TR"), unique("v-r")
    meter = f"{cp}:1"
    t0 = recent_minute(200)
    rng = random.Random(11)
    series, value = {}, 1234.5
    for i in range(180):
        value = round(value + rng.uniform(0.05, 0.5), 3) if i != 95 else 0.25  # a reset at minute 95
        series[t0 + timedelta(minutes=i)] = value
    start, stop = t0 + timedelta(minutes=12), t0 + timedelta(minutes=170)
    records = [register_record(meter, t, v) for t, v in series.items()]
    records += rng.sample(records, 30)  # duplicates
    rng.shuffle(records)
    assert (await api.put_idtag(tag, vehicle)).status_code == 201
    events = [Event(cp, 1, "9", "ended", stop, reason="Local"), Event(cp, 1, "9", "started", start, tag)]
    await produce(group.env, records + [e.record() for e in events])
    await caught_up(group)
    expected = register_energy(series, start, stop)
    naive = Decimal(repr(series[stop])) - Decimal(repr(series[start]))
    assert expected != naive  # the reset matters
    window = {"from": iso(t0), "to": iso(t0 + timedelta(hours=4))}
    got = (await api.client.get(f"/v1/vehicles/{vehicle}/sessions", params=window)).json()["sessions"]
    assert [(s["transactionId"], s["kwhConsumedAc"], s["kwhDeliveredDc"]) for s in got] == [
        ("9", float(expected), None)
    ]
