"""Bad OCPP input gets the matching CALLERROR (or, for a frame over the size limit, a close)
and publishes nothing, while a neighbour charge point on the same gateway keeps working;
Kafka away: InternalError within the deadline, never a hang and never a CALLRESULT; the
connection limit and the idle timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from ocpp.v16 import call as call16
from websockets.exceptions import InvalidStatus

from devstack import free_port
from schemas import METER_TOPIC
from tests.gateway.conftest import PRODUCE_DEADLINE_S
from tests.gateway.helpers import Gateway
from tests.gateway.ocpp_peer import (
    basic,
    charge_point,
    charger_token,
    offsets,
    open_ws,
    own_gateway,
    raw_call,
    records_since,
    ws_url,
)
from tests.support import iso, recent_minute, unique

NOW = iso(recent_minute(1))
LATER = iso(recent_minute(-60))  # an hour ahead: past the 5-minute future skew


def mv16(value: Any, at: str = NOW, **extra: Any) -> dict[str, Any]:
    return {"connectorId": 1, "meterValue": [{"timestamp": at, "sampledValue": [{"value": value, **extra}]}]}


def mv201(value: Any, **uom: Any) -> dict[str, Any]:
    sampled = {"value": value, "unitOfMeasure": {"unit": "Wh", **uom}}
    return {"evseId": 1, "meterValue": [{"timestamp": NOW, "sampledValue": [sampled]}]}


START = {"connectorId": 1, "idTag": "CARD", "meterStart": 5, "timestamp": NOW}
CASES_16: list[tuple[str, Any, str]] = [
    ("FooBar", {}, "NotImplemented"),
    ("DataTransfer", {"vendorId": "acme"}, "NotSupported"),
    ("MeterValues", {"connectorId": "one", "meterValue": []}, "TypeConstraintViolation"),
    ("MeterValues", mv16("-5"), "PropertyConstraintViolation"),
    ("MeterValues", mv16("abc"), "TypeConstraintViolation"),
    ("MeterValues", mv16("NaN"), "TypeConstraintViolation"),
    ("MeterValues", mv16("2000000000000"), "PropertyConstraintViolation"),  # 2e9 kWh: over the register bound
    ("MeterValues", mv16("12", unit="W"), "PropertyConstraintViolation"),
    ("MeterValues", mv16("12", at=LATER), "PropertyConstraintViolation"),
    ("StartTransaction", START | {"colour": "red"}, "FormationViolation"),
    ("StartTransaction", {k: v for k, v in START.items() if k != "idTag"}, "ProtocolError"),
    ("StartTransaction", START | {"meterStart": -1}, "PropertyConstraintViolation"),
    ("StartTransaction", START | {"connectorId": 0}, "PropertyConstraintViolation"),
    ("Heartbeat", [], "TypeConstraintViolation"),
    (
        "StatusNotification",
        {"connectorId": 1, "errorCode": "NoError", "status": "x" * 5000},
        "FormationViolation",
    ),
]
CASES_201: list[tuple[str, Any, str]] = [
    ("FooBar", {}, "NotImplemented"),
    ("MeterValues", mv201("12"), "TypeConstraintViolation"),
    ("MeterValues", mv201(-3.5), "PropertyConstraintViolation"),
    ("MeterValues", mv201(12, multiplier=99), "PropertyConstraintViolation"),
    (
        "TransactionEvent",
        {"eventType": "Started", "timestamp": NOW, "triggerReason": "Authorized", "seqNo": 0}
        | {"transactionInfo": {"transactionId": "t1"}},
        "OccurrenceConstraintViolation",
    ),
]


async def _neighbour_publishes(client: Any, gateway: Gateway, neighbour: str) -> None:
    before = await offsets(gateway.env)
    values = [{"timestamp": NOW, "sampledValue": [{"value": "1001"}]}]
    await client.call(call16.MeterValues(1, values), suppress=False)
    got = [(t, k, v["kwhRegisterAc"]) for t, k, v in await records_since(gateway.env, before)]
    assert (METER_TOPIC, f"{neighbour}:1", 1001 / 1000) in got


@pytest.mark.parametrize(("version", "cases"), [("1.6", CASES_16), ("2.0.1", CASES_201)])
async def test_bad_input_gets_callerrors_and_spares_the_neighbour(
    gateway: Gateway, version: str, cases: list[tuple[str, Any, str]]
) -> None:
    bad, neighbour = unique("cp-bad"), unique("cp-ok")
    subprotocol = "ocpp1.6" if version == "1.6" else "ocpp2.0.1"
    auth = basic(bad, charger_token(gateway.env, bad))
    before = await offsets(gateway.env)
    async with (
        charge_point(gateway.url, neighbour, charger_token(gateway.env, neighbour), "1.6") as (client, _),
        open_ws(ws_url(gateway.url, bad), [subprotocol], auth) as ws,
    ):
        for i, (action, payload, code) in enumerate(cases):
            frame = orjson.dumps([2, f"u{i}", action, payload]).decode()
            answer = await raw_call(ws, frame)
            assert answer[:3] == [4, f"u{i}", code], (action, payload, answer)
            assert "ocpp_message" not in answer[4]  # the CALL is not echoed back
            assert len(answer[3]) <= 255
            assert len(orjson.dumps(answer)) < 2000  # bounded, whatever the CALL's size
            assert (await client.call(call16.Heartbeat(), suppress=False)).current_time  # the neighbour
        await _neighbour_publishes(client, gateway, neighbour)
        not_json = await raw_call(ws, "hello")
        assert not_json[:3] == [4, "-1", "FormationViolation" if version == "1.6" else "RpcFrameworkError"]
        await ws.send('[7,"x",{}]')  # an unknown message type: ignored, so the next answer is the next CALL's
        assert (await raw_call(ws, '[2,"after","Heartbeat",{}]'))[:2] == [3, "after"]

        huge = orjson.dumps([2, "big", "DataTransfer", {"vendorId": "a", "data": "x" * 100_000}]).decode()
        await ws.send(huge)
        await asyncio.wait_for(ws.wait_closed(), 15)
        assert ws.close_code == 1009  # message too big
        await _neighbour_publishes(client, gateway, neighbour)
    assert not [k for _, k, _ in await records_since(gateway.env, before) if k.startswith(f"{bad}:")]
    v = "1.6" if version == "1.6" else "2.0.1"
    assert gateway.metric(f'gateway_ocpp_call_errors_total{{code="NotImplemented",version="{v}"}}') >= 1
    assert (
        gateway.metric(f'gateway_ocpp_messages_total{{action="unknown",result="CALLERROR",version="{v}"}}')
        >= 1
    )
    assert gateway.metric(
        'gateway_ocpp_messages_total{action="Heartbeat",result="CALLRESULT",version="1.6"}'
    ) >= len(cases)
    assert (
        gateway.metric(f'gateway_ocpp_connections_total{{outcome="accepted",subprotocol="{subprotocol}"}}')
        >= 1
    )


@pytest.fixture(scope="module")
def kafkaless_gateway(stack_env: dict[str, str]) -> Iterator[Gateway]:
    """A gateway whose Kafka never answers (a closed port), two connections at most,
    connections closed after 3 s of silence, 2 messages a second (burst 2) per connection."""
    extra = {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}", "OCPP_MAX_CONNECTIONS": "2"}
    extra |= {"OCPP_MESSAGES_PER_S": "2", "OCPP_MESSAGE_BURST": "2"}
    with own_gateway("gateway-ocpp-nokafka", stack_env, "/healthz", OCPP_IDLE_TIMEOUT_S="3", **extra) as gw:
        yield gw


async def test_kafka_away_is_an_internal_error_in_time(kafkaless_gateway: Gateway) -> None:
    gw = kafkaless_gateway
    a, b, c = (unique("cp") for _ in range(3))
    async with (
        open_ws(ws_url(gw.url, a), ["ocpp1.6"], basic(a, charger_token(gw.env, a))) as ws,
        open_ws(ws_url(gw.url, b), ["ocpp2.0.1"], basic(b, charger_token(gw.env, b))),
    ):
        started = time.monotonic()
        answer = await raw_call(ws, orjson.dumps([2, "m1", "MeterValues", mv16("1500")]).decode())
        assert answer[:3] == [4, "m1", "InternalError"]
        assert time.monotonic() - started < PRODUCE_DEADLINE_S + 3
        assert (await raw_call(ws, '[2,"h1","Heartbeat",{}]'))[:2] == [3, "h1"]  # needs no Kafka

        with pytest.raises(InvalidStatus) as caught:  # a third charge point: over OCPP_MAX_CONNECTIONS
            async with open_ws(ws_url(gw.url, c), ["ocpp1.6"], basic(c, charger_token(gw.env, c))):
                pass
        assert caught.value.response.status_code == 503

        await asyncio.wait_for(ws.wait_closed(), 10)  # silent for OCPP_IDLE_TIMEOUT_S
        assert ws.close_code == 1001


async def test_a_fast_charge_point_is_slowed_to_its_rate(kafkaless_gateway: Gateway) -> None:
    gw, cp = kafkaless_gateway, unique("cp")
    async with open_ws(ws_url(gw.url, cp), ["ocpp1.6"], basic(cp, charger_token(gw.env, cp))) as ws:
        started = time.monotonic()
        answers = [await raw_call(ws, f'[2,"h{i}","Heartbeat",{{}}]') for i in range(6)]
        elapsed = time.monotonic() - started
    assert [a[:2] for a in answers] == [[3, f"h{i}"] for i in range(6)]  # all answered, none refused
    assert elapsed >= (6 - 2) / 2 - 0.1  # the burst of 2 at once, then one every 0.5 s
