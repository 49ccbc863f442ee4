"""A whole OCPP session per version against a real gateway, with the ``ocpp`` library's
ChargePoint as the peer: every answer, and the exact Kafka records each CALL published,
read back from the topics right after its CALLRESULT (so they were acknowledged first).

The expected records are written out by hand here (Wh / 1000, kWh * 10^multiplier, phases
summed, voltages averaged), never computed by the gateway's code. Run with ``-s`` to see
the transcript of each session.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from schemas import METER_TOPIC
from schemas.topics import SESSION_TOPIC
from tests.gateway.conftest import start_gateway
from tests.gateway.helpers import Gateway
from tests.gateway.ocpp_peer import charge_point, charger_token, offsets, records_since
from tests.support import iso, recent_minute, unique

REGISTER = "Energy.Active.Import.Register"


@pytest.fixture(scope="module")
def ocpp_gateway(stack_env: dict[str, str]) -> Iterator[Gateway]:
    """A gateway of this module's own (its transaction book starts empty)."""
    yield from start_gateway("gateway-ocpp", stack_env)


def meter_record(meter_id: str, kwh: float, at: str, voltage: float | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "meter", "meterId": meter_id, "kwhRegisterAc": kwh, "timestamp": at}
    if voltage is not None:
        body["voltage"] = voltage
    return body


def session(protocol: str, cp: str, tx: str, event: str, at: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "session",
        "protocol": protocol,
        "chargePointId": cp,
        "connectorId": 1,
        "meterId": f"{cp}:1",
        "transactionId": tx,
        "event": event,
        "timestamp": at,
    } | extra


async def published(
    gateway: Gateway, cp: str, before: dict[tuple[str, int], int]
) -> list[tuple[str, str, Any]]:
    """This charge point's records since ``before``, receivedAt checked and dropped."""
    out = []
    for topic, key, value in await records_since(gateway.env, before):
        if key.startswith(f"{cp}:"):
            assert isinstance(value.pop("receivedAt"), int)
            out.append((topic, key, value))
    return out


def approx_records(records: list[tuple[str, str, dict[str, Any]]]) -> list[Any]:
    return [
        (t, k, {f: pytest.approx(v, rel=1e-12) if isinstance(v, float) else v for f, v in b.items()})
        for t, k, b in records
    ]


async def test_ocpp16_session(ocpp_gateway: Gateway) -> None:
    gw, cp = ocpp_gateway, unique("cp16")
    meter = f"{cp}:1"
    t0, t1, t2, t3 = (iso(recent_minute(m)) for m in (40, 30, 20, 10))
    async with charge_point(gw.url, cp, charger_token(gw.env, cp), "1.6") as (client, wire):
        boot = await client.call(call16.BootNotification("ModelX", "VendorY"), suppress=False)
        assert (boot.status, boot.interval) == ("Accepted", 300)
        assert (await client.call(call16.Heartbeat(), suppress=False)).current_time.endswith("Z")
        auth = await client.call(call16.Authorize("CARD-16"), suppress=False)
        assert auth.id_tag_info == {"status": "Accepted"}
        await client.call(call16.StatusNotification(1, "NoError", "Charging"), suppress=False)

        before = await offsets(gw.env)
        start = await client.call(call16.StartTransaction(1, "CARD-16", 1_234_500, t0), suppress=False)
        tx = start.transaction_id
        assert isinstance(tx, int)
        assert 0 < tx < 2**31
        assert await published(gw, cp, before) == [
            (METER_TOPIC, meter, meter_record(meter, 1234.5, t0)),
            (SESSION_TOPIC, meter, session("ocpp1.6", cp, str(tx), "started", t0, idTag="CARD-16")),
        ]

        in_wh = [
            {
                "timestamp": t1,
                "sampledValue": [
                    {"value": "1235000", "measurand": REGISTER, "unit": "Wh", "context": "Sample.Periodic"},
                    {"value": "230.5", "measurand": "Voltage", "unit": "V", "phase": "L1-N"},
                    {"value": "229.5", "measurand": "Voltage", "unit": "V", "phase": "L2-N"},
                    {"value": "16.0", "measurand": "Current.Import", "unit": "A"},
                ],
            }
        ]
        for _ in range(2):  # the second is a duplicate: published again, stored once downstream
            before = await offsets(gw.env)
            await client.call(call16.MeterValues(1, in_wh, transaction_id=tx), suppress=False)
            assert await published(gw, cp, before) == [
                (METER_TOPIC, meter, meter_record(meter, 1235.0, t1, 230.0))
            ]

        per_phase_kwh = [
            {
                "timestamp": t2,
                "sampledValue": [
                    {"value": "412.0", "unit": "kWh", "phase": "L1"},
                    {"value": "411.5", "unit": "kWh", "phase": "L2"},
                    {"value": "412.25", "unit": "kWh", "phase": "L3"},
                ],
            }
        ]
        before = await offsets(gw.env)
        await client.call(call16.MeterValues(1, per_phase_kwh, transaction_id=tx), suppress=False)
        assert await published(gw, cp, before) == [(METER_TOPIC, meter, meter_record(meter, 1235.75, t2))]

        end_data = [
            {
                "timestamp": t3,
                "sampledValue": [{"value": "1236.4", "unit": "kWh", "context": "Transaction.End"}],
            }
        ]
        before = await offsets(gw.env)
        stop = await client.call(
            call16.StopTransaction(1_236_500, t3, tx, reason="EVDisconnected", transaction_data=end_data),
            suppress=False,
        )
        assert stop.id_tag_info is None
        assert await published(gw, cp, before) == [
            (METER_TOPIC, meter, meter_record(meter, 1236.4, t3)),
            (METER_TOPIC, meter, meter_record(meter, 1236.5, t3)),
            (
                SESSION_TOPIC,
                meter,
                session("ocpp1.6", cp, str(tx), "ended", t3, idTag="CARD-16", stopReason="EVDisconnected"),
            ),
        ]
    print(f"\n--- OCPP 1.6J session of {cp}\n{wire.transcript()}")


async def test_ocpp201_session(ocpp_gateway: Gateway) -> None:
    gw, cp = ocpp_gateway, unique("cp201")
    meter, tx = f"{cp}:1", "tx-" + cp[-6:]
    t0, t1, t2, t3 = (iso(recent_minute(m)) for m in (40, 30, 20, 10))
    async with charge_point(gw.url, cp, charger_token(gw.env, cp), "2.0.1") as (client, wire):
        boot = await client.call(
            call201.BootNotification({"model": "ModelX", "vendorName": "VendorY"}, "PowerUp"), suppress=False
        )
        assert (boot.status, boot.interval) == ("Accepted", 300)
        assert (await client.call(call201.Heartbeat(), suppress=False)).current_time.endswith("Z")
        auth = await client.call(
            call201.Authorize({"idToken": "CARD-201", "type": "ISO14443"}), suppress=False
        )
        assert auth.id_token_info == {"status": "Accepted"}
        await client.call(call201.StatusNotification(t0, "Occupied", 1, 1), suppress=False)

        def event(kind: str, trigger: str, seq: int, at: str, **extra: Any) -> Any:
            return call201.TransactionEvent(
                kind, at, trigger, seq, {"transactionId": tx} | extra.pop("info", {}), **extra
            )

        before = await offsets(gw.env)
        begin = [
            {
                "timestamp": t0,
                "sampledValue": [
                    {"value": 12345.6, "unitOfMeasure": {"unit": "kWh"}, "context": "Transaction.Begin"}
                ],
            }
        ]
        await client.call(
            event("Started", "CablePluggedIn", 0, t0, evse={"id": 1, "connectorId": 1}, meter_value=begin),
            suppress=False,
        )
        assert await published(gw, cp, before) == [
            (METER_TOPIC, meter, meter_record(meter, 12345.6, t0)),
            (SESSION_TOPIC, meter, session("ocpp2.0.1", cp, tx, "started", t0)),
        ]

        before = await offsets(gw.env)
        answer = await client.call(
            event("Updated", "Authorized", 1, t0, id_token={"idToken": "CARD-201", "type": "ISO14443"}),
            suppress=False,
        )
        assert answer.id_token_info == {"status": "Accepted"}
        assert await published(gw, cp, before) == [
            (SESSION_TOPIC, meter, session("ocpp2.0.1", cp, tx, "updated", t0, idTag="CARD-201"))
        ]

        multiplied = [
            {
                "timestamp": t1,
                "sampledValue": [{"value": 1234.62, "unitOfMeasure": {"unit": "Wh", "multiplier": 4}}],
            }
        ]
        for _ in range(2):  # a duplicate MeterValues publishes the same record again
            before = await offsets(gw.env)
            await client.call(call201.MeterValues(1, multiplied), suppress=False)
            assert approx_records(await published(gw, cp, before)) == [
                (METER_TOPIC, meter, meter_record(meter, 12346.2, t1))
            ]

        phases = [
            {
                "timestamp": t2,
                "sampledValue": [
                    {"value": 4115.5, "phase": "L1", "unitOfMeasure": {"unit": "kWh"}},
                    {"value": 4115.6, "phase": "L2", "unitOfMeasure": {"unit": "kWh"}},
                    {"value": 4115.7, "phase": "L3", "unitOfMeasure": {"unit": "kWh"}},
                    {
                        "value": 23.1,
                        "measurand": "Voltage",
                        "phase": "L1-N",
                        "unitOfMeasure": {"unit": "V", "multiplier": 1},
                    },
                    {
                        "value": 22.9,
                        "measurand": "Voltage",
                        "phase": "L2-N",
                        "unitOfMeasure": {"unit": "V", "multiplier": 1},
                    },
                ],
            }
        ]
        before = await offsets(gw.env)
        await client.call(event("Updated", "MeterValuePeriodic", 2, t2, meter_value=phases), suppress=False)
        assert approx_records(await published(gw, cp, before)) == [
            (METER_TOPIC, meter, meter_record(meter, 12346.8, t2, 230.0))
        ]

        end = [
            {
                "timestamp": t3,
                "sampledValue": [
                    {"value": 12347.0, "unitOfMeasure": {"unit": "kWh"}, "context": "Transaction.End"}
                ],
            }
        ]
        before = await offsets(gw.env)
        await client.call(
            event(
                "Ended",
                "EVCommunicationLost",
                3,
                t3,
                info={"stoppedReason": "EVDisconnected"},
                meter_value=end,
            ),
            suppress=False,
        )
        assert await published(gw, cp, before) == [
            (METER_TOPIC, meter, meter_record(meter, 12347.0, t3)),
            (
                SESSION_TOPIC,
                meter,
                session("ocpp2.0.1", cp, tx, "ended", t3, idTag="CARD-201", stopReason="EVDisconnected"),
            ),
        ]
    print(f"\n--- OCPP 2.0.1 session of {cp}\n{wire.transcript()}")


async def test_a_transaction_survives_a_reconnect(ocpp_gateway: Gateway) -> None:
    """StopTransaction (no connector in 1.6) and a 2.0.1 Ended event (no evse) on a new
    connection still land on the transaction's meter; a retried StartTransaction keeps its id."""
    gw, cp16, cp201 = ocpp_gateway, unique("cp16"), unique("cp201")
    t0, t1 = iso(recent_minute(5)), iso(recent_minute(2))
    async with charge_point(gw.url, cp16, charger_token(gw.env, cp16), "1.6") as (client, _):
        start = call16.StartTransaction(2, "CARD-R", 10_000, t0)
        tx = (await client.call(start, suppress=False)).transaction_id
        assert (await client.call(start, suppress=False)).transaction_id == tx  # our answer was "lost"
    async with charge_point(gw.url, cp201, charger_token(gw.env, cp201), "2.0.1") as (client, _):
        started = call201.TransactionEvent(
            "Started", t0, "Authorized", 0, {"transactionId": "r1"}, evse={"id": 3}
        )
        await client.call(started, suppress=False)

    before = await offsets(gw.env)
    async with charge_point(gw.url, cp16, charger_token(gw.env, cp16), "1.6") as (client, _):
        await client.call(call16.StopTransaction(12_500, t1, tx), suppress=False)
    async with charge_point(gw.url, cp201, charger_token(gw.env, cp201), "2.0.1") as (client, _):
        ended = call201.TransactionEvent("Ended", t1, "EVDeparted", 1, {"transactionId": "r1"})
        await client.call(ended, suppress=False)
    got = [(t, k, v.get("event"), v.get("kwhRegisterAc")) for t, k, v in await records_since(gw.env, before)]
    assert sorted(r for r in got if r[1].startswith((f"{cp16}:", f"{cp201}:"))) == sorted(
        [
            (METER_TOPIC, f"{cp16}:2", None, 12.5),
            (SESSION_TOPIC, f"{cp16}:2", "ended", None),
            (SESSION_TOPIC, f"{cp201}:3", "ended", None),
        ]
    )
