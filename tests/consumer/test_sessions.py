"""Charging sessions through the real consumer: events produced to Kafka in any order, with
duplicates, a consumer restart and a full replay, stored as one row per transaction; the
meter mappings they derive (manual ones win; a card registered later backfills), against
rows computed in Python."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.consumer.fleet import Fleet
from tests.consumer.sessions_fixtures import ADMIN, Api, api, caught_up, group
from tests.consumer.sessions_support import Event, expected_sessions, produce, stored_ranges, stored_sessions
from tests.support import iso, recent_minute, unique

__all__ = ["api", "group"]  # the module's fixtures


def ocpp_range(meter: str, vehicle: str, start: datetime, stop: datetime | None, tx: str) -> tuple[Any, ...]:
    return (meter, vehicle, start, stop, "(]" if stop else "()", "ocpp", tx)


async def test_sessions_stored_once_whatever_the_order(group: Fleet, api: Api) -> None:
    cp = unique("cpx")
    tag, vehicle = unique("TAG"), unique("v-sess")
    assert (await api.put_idtag(tag, vehicle)).status_code == 201
    t0 = recent_minute(600)
    events: list[Event] = []
    for c in (1, 2):
        for i in range(5):
            start = t0 + timedelta(minutes=40 * i + c, seconds=7)
            tx = f"{c}{i:02d}"
            events += [
                Event(cp, c, tx, "started", start, tag),
                Event(cp, c, tx, "ended", start + timedelta(minutes=30), reason="Local"),
            ]
    # a stop sent twice (a reconnect): the earliest wins, with its reason
    events.append(Event(cp, 1, "100", "ended", t0 + timedelta(minutes=40), reason="Remote"))
    # 2.0.1: the card comes with Updated; a different one on Ended ranks lower
    u0 = t0 + timedelta(minutes=300)
    events += [
        Event(cp, 3, "uuid-a", "started", u0, None, protocol="ocpp2.0.1"),
        Event(
            cp, 3, "uuid-a", "updated", u0 + timedelta(seconds=30), "TAGU-" + cp[-6:], protocol="ocpp2.0.1"
        ),
        Event(cp, 3, "uuid-a", "ended", u0 + timedelta(minutes=20), "TAGZ", "EVDisconnected", "ocpp2.0.1"),
    ]
    rng = random.Random(13)
    order = events[:]
    rng.shuffle(order)
    # the ended of transaction 101 strictly before its started, across the restart
    ended_101 = next(e for e in order if e.tx == "101" and e.event == "ended")
    started_101 = next(e for e in order if e.tx == "101" and e.event == "started")
    order.remove(ended_101)
    order.remove(started_101)
    half = len(order) // 2
    first, second = [ended_101, *order[:half]], [*order[half:], started_101]
    await produce(group.env, [e.record() for e in first])
    await caught_up(group)
    assert await asyncio.to_thread(group.stop, "s1") == 0
    replays = rng.sample(events, 8) + events  # duplicates, and every event once more
    rng.shuffle(replays)
    await produce(group.env, [e.record() for e in second + replays])
    group.start("s1")
    await caught_up(group)

    expected = expected_sessions(events)
    with group.db() as db:
        stored = stored_sessions(db, cp)
        ranges = stored_ranges(db, cp)
    assert stored == expected
    assert len(stored) == 11
    assert stored[(cp, "100")][3:5] == (t0 + timedelta(minutes=31, seconds=7), "Local")
    assert stored[(cp, "uuid-a")][1] == "TAGU-" + cp[-6:]
    want = sorted(
        ocpp_range(e.meter_id, vehicle, e.at, e.at + timedelta(minutes=30), e.tx)
        for e in events
        if e.event == "started" and e.id_tag == tag
    )
    assert ranges == want  # the 2.0.1 session's card is not registered: no range

    # A full replay of the group's topics from its first offsets changes nothing.
    assert await asyncio.to_thread(group.stop, "s1") == 0
    with group.db() as db:
        for tp, offset in group.start_offsets.items():
            db.execute(
                "UPDATE consumer_offsets SET next_offset = %s"
                " WHERE group_id = %s AND topic = %s AND partition = %s",
                (offset, group.group, tp.topic, tp.partition),
            )
    group.start("s1")
    await caught_up(group)
    with group.db() as db:
        assert stored_sessions(db, cp) == expected
        assert stored_ranges(db, cp) == want


async def test_mapping_follows_the_card_manual_wins_and_backfill(group: Fleet, api: Api) -> None:
    cp = unique("cpm")
    m1, m2 = f"{cp}:1", f"{cp}:2"
    ta, tb = unique("TA"), unique("TB")
    va, vb, vm, vm2 = (unique(p) for p in ("v-a", "v-b", "v-man", "v-man2"))
    t0 = recent_minute(480)

    def at(minutes: int) -> datetime:
        return t0 + timedelta(minutes=minutes)

    assert (await api.put_idtag(ta, va)).status_code == 201
    # meter 2 is an admin's from t0+30m on: the session there maps only the time before
    put = await api.client.put(
        f"/v1/mappings/meters/{m2}", json={"vehicleId": vm, "validFrom": iso(at(30))}, headers=ADMIN
    )
    assert put.status_code == 200, put.text
    events = [
        Event(cp, 1, "1", "started", at(10), ta),
        Event(cp, 1, "1", "ended", at(70)),
        Event(cp, 1, "2", "started", at(90), tb),
        Event(cp, 1, "2", "ended", at(150)),
        Event(cp, 1, "3", "started", at(170), ta),  # still charging
        Event(cp, 2, "4", "started", at(0), ta),
        Event(cp, 2, "4", "ended", at(60)),
    ]
    await produce(group.env, [e.record() for e in events])
    await caught_up(group)
    manual2 = (m2, vm, at(30), None, "[)", "manual", None)
    with group.db() as db:
        assert stored_ranges(db, cp) == [
            ocpp_range(m1, va, at(10), at(70), "1"),
            ocpp_range(m1, va, at(170), None, "3"),
            (m2, va, at(0), at(30), "()", "ocpp", "4"),
            manual2,
        ]
    # The card of session 2 registered afterwards: backfilled by the PUT itself.
    put = await api.put_idtag(tb, vb)
    assert put.status_code == 201, put.text
    assert put.json()["sessionsRemapped"] == 1
    assert (await api.put_idtag(tb, vb)).json()["changed"] is False
    with group.db() as db:
        assert ocpp_range(m1, vb, at(90), at(150), "2") in stored_ranges(db, cp)
    # A later manual mapping of meter 1 trims the running session; its stop changes nothing.
    put = await api.client.put(
        f"/v1/mappings/meters/{m1}", json={"vehicleId": vm2, "validFrom": iso(at(200))}, headers=ADMIN
    )
    assert put.status_code == 200, put.text
    await produce(
        group.env,
        [Event(cp, 1, "3", "ended", at(260)).record(), Event(cp, 1, "5", "started", at(300), ta).record()],
    )
    await caught_up(group)
    with group.db() as db:
        assert stored_ranges(db, cp) == [
            ocpp_range(m1, va, at(10), at(70), "1"),
            ocpp_range(m1, vb, at(90), at(150), "2"),
            (m1, va, at(170), at(200), "()", "ocpp", "3"),
            (m1, vm2, at(200), None, "[)", "manual", None),
            (m2, va, at(0), at(30), "()", "ocpp", "4"),
            manual2,
        ]
    got = (await api.client.get(f"/v1/mappings/meters/{m1}")).json()
    assert [(m["source"], m["transactionId"]) for m in got["mappings"]] == [
        ("manual", None),
        ("ocpp", "3"),
        ("ocpp", "2"),
        ("ocpp", "1"),
    ]
    # The card moves to another vehicle: from now on; earlier sessions keep theirs.
    api.clock.now = datetime.now(UTC)
    moved = await api.put_idtag(ta, vb)
    assert moved.status_code == 200, moved.text
    assert moved.json()["closed"]["vehicleId"] == va
    info = (await api.client.get(f"/v1/idtags/{ta}")).json()
    assert [r["vehicleId"] for r in info["history"]] == [vb, va]
    assert info["current"]["vehicleId"] == vb
    window = {"from": iso(t0 - timedelta(hours=1)), "to": iso(t0 + timedelta(hours=9))}
    listed = (await api.client.get(f"/v1/vehicles/{va}/sessions", params=window)).json()["sessions"]
    assert [(s["meterId"], s["transactionId"]) for s in listed] == [
        (m2, "4"),
        (m1, "1"),
        (m1, "3"),
        (m1, "5"),
    ]


async def test_bad_session_events_become_rejects(group: Fleet) -> None:
    cp = unique("cpbad")
    good = Event(cp, 1, "ok", "started", recent_minute(5))
    future = Event(cp, 2, "f", "started", datetime.now(UTC) + timedelta(days=1), "T1")
    topic, _, value = Event(cp, 3, "m", "started", recent_minute(5)).record()
    mismatched = (
        topic,
        f"{cp}:3",
        value.replace(f'"meterId": "{cp}:3"'.encode(), f'"meterId": "{cp}:9"'.encode()),
    )
    truncated = (topic, f"{cp}:4", b'{"type": "session", "protocol": ')
    reading = (
        topic,
        f"{cp}:5",
        json.dumps(
            {
                "type": "meter",
                "meterId": f"{cp}:5",
                "kwhConsumedAc": 1.0,
                "voltage": 230.0,
                "timestamp": iso(recent_minute(5)),
            }
        ).encode(),
    )
    await produce(group.env, [good.record(), future.record(), mismatched, truncated, reading])
    await caught_up(group)
    with group.db() as db:
        rejects = dict(
            db.execute(
                "SELECT convert_from(key, 'UTF8'), reason FROM ingest_rejects WHERE topic = %s"
                " AND convert_from(key, 'UTF8') LIKE %s",
                (topic, cp + "%"),
            ).fetchall()
        )
        stored = stored_sessions(db, cp)
    assert rejects == {
        f"{cp}:2": "timestamp_future",
        f"{cp}:3": "invalid",
        f"{cp}:4": "invalid_json",
        f"{cp}:5": "invalid",
    }
    assert list(stored) == [(cp, "ok")]
