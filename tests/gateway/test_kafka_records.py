"""What reaches Kafka: one message per reading keyed by device id, and nothing at all from a
request that is refused (all-or-nothing)."""

from __future__ import annotations

import orjson

from common.tokens import Scope, issue
from schemas import METER_TOPIC, VEHICLE_TOPIC
from tests.gateway.helpers import Gateway, end_offsets, meter, read_messages, vehicle
from tests.support import recent_minute, unique


def _moved(before: dict[tuple[str, int], int], after: dict[tuple[str, int], int]) -> int:
    return sum(after[tp] - before.get(tp, 0) for tp in after)


def test_one_message_per_reading_keyed_by_device(gateway: Gateway) -> None:
    kafka = gateway.env
    meters = [unique("m") for _ in range(3)]
    cars = [unique("v") for _ in range(2)]
    readings = [meter(d, recent_minute(i)) for i, d in enumerate(meters)] + [vehicle(d) for d in cars]
    before = end_offsets(kafka)
    with gateway.client() as gw:
        r = gw.post("/v1/ingest", json=readings)
    assert r.status_code == 202, r.text
    after = end_offsets(kafka)
    assert _moved(before, after) == len(readings)

    messages = read_messages(kafka, before, after)
    by_key = {m.key.decode(): m for m in messages}
    assert sorted(by_key) == sorted(meters + cars)
    for m in messages:
        value = orjson.loads(m.value)
        assert m.topic == (METER_TOPIC if value["type"] == "meter" else VEHICLE_TOPIC)
        assert m.key.decode() == value.get("meterId", value.get("vehicleId"))
        assert isinstance(value["receivedAt"], int)
        assert m.timestamp == value["receivedAt"]  # the gateway's receive time on every record
    sent = {r_.get("meterId", r_.get("vehicleId")): r_ for r_ in readings}
    stored = orjson.loads(by_key[meters[0]].value)
    assert {k: stored[k] for k in sent[meters[0]]} == sent[meters[0]]


def test_a_large_batch_keeps_every_reading_once(gateway: Gateway) -> None:
    """50 readings of 2 devices: groups this large go to Kafka as pre-built batches."""
    kafka = gateway.env
    devices = [unique("m") for _ in range(2)]
    readings = [meter(d, recent_minute(i)) for d in devices for i in range(25)]
    before = end_offsets(kafka)
    with gateway.client() as gw:
        assert gw.post("/v1/ingest", json=readings).status_code == 202
    after = end_offsets(kafka)
    messages = read_messages(kafka, before, after)
    got = sorted((m.key.decode(), orjson.loads(m.value)["timestamp"]) for m in messages)
    assert got == sorted((r["meterId"], r["timestamp"]) for r in readings)
    partitions = {m.key: m.partition for m in messages}
    assert all(m.partition == partitions[m.key] for m in messages)  # a device stays on one partition


def test_refused_requests_publish_nothing(gateway: Gateway) -> None:
    kafka = gateway.env
    good = [meter(unique("m"), recent_minute(i)) for i in range(10)]
    device = unique("m")
    device_token = issue(gateway.env["AUTH_SECRET"], Scope.DEVICE, device)
    before = end_offsets(kafka)
    with gateway.client() as gw:
        invalid = gw.post("/v1/ingest", json=[*good, meter(unique("m"), soc=1)])
        ndjson = gw.post(
            "/v1/ingest",
            content=b"\n".join(orjson.dumps(r) for r in [*good, meter(unique("m"), voltage=-5)]),
            headers={"Content-Type": "application/x-ndjson"},
        )
    with gateway.client(token=device_token) as gw:
        forbidden = gw.post("/v1/ingest", json=[meter(device), *good])
    assert [invalid.status_code, ndjson.status_code, forbidden.status_code] == [422, 422, 403]
    assert _moved(before, end_offsets(kafka)) == 0
