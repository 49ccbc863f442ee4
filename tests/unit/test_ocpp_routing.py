"""The door's routing with a stand-in publisher: the CALLRESULT goes out only after the
publisher returned (Kafka's acknowledgement), a publisher that fails or times out gives
InternalError, a bug in a handler gives InternalError with the traceback logged, and the
1.6 / 2.0.1 error spellings."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from ingest_gateway.enqueue import Record
from ingest_gateway.errors import KafkaUnavailable
from ingest_gateway.ocpp.context import DoorContext
from ingest_gateway.ocpp.transactions import TransactionBook
from ingest_gateway.ocpp.v16 import ChargePoint16
from ingest_gateway.ocpp.v201 import ChargePoint201
from schemas.timerules import TimeRules
from tests.support import iso, recent_minute


class Events:
    """What happened, in order: publishes and frames sent."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.log: list[tuple[str, Any]] = []
        self.fail = fail

    async def publish_records(self, records: list[Record], received_ms: int) -> None:
        await asyncio.sleep(0.05)  # Kafka takes a while to acknowledge
        if self.fail is not None:
            raise self.fail
        self.log.append(("published", [(t, k.decode()) for t, k, _ in records]))

    async def send(self, message: str) -> None:
        self.log.append(("sent", orjson.loads(message)))


def peer(events: Events, version: str = "1.6") -> Any:
    context = DoorContext(events, TimeRules.defaults(), TransactionBook(), 300)  # type: ignore[arg-type]
    cls = ChargePoint16 if version == "1.6" else ChargePoint201
    return cls("cp1", events, context)


METER_VALUES = orjson.dumps(
    [
        2,
        "m1",
        "MeterValues",
        {
            "connectorId": 1,
            "meterValue": [{"timestamp": iso(recent_minute(1)), "sampledValue": [{"value": "5"}]}],
        },
    ]
).decode()


async def test_the_callresult_follows_the_publish() -> None:
    events = Events()
    await peer(events).route_message(METER_VALUES)
    assert events.log == [("published", [("telemetry.meter.v1", "cp1:1")]), ("sent", [3, "m1", {}])]


@pytest.mark.parametrize(
    "failure", [KafkaUnavailable("Kafka did not acknowledge the write within 2 s"), RuntimeError("a bug")]
)
async def test_a_failed_publish_is_an_internal_error(failure: BaseException) -> None:
    events = Events(fail=failure)
    await peer(events).route_message(METER_VALUES)
    [(kind, frame)] = events.log
    assert (kind, frame[:3]) == ("sent", [4, "m1", "InternalError"])


async def test_codes_by_version() -> None:
    events = Events()
    await peer(events, "1.6").route_message('[2,"a","Heartbeat",{"extra":1}]')
    await peer(events, "1.6").route_message("not json")
    await peer(events, "2.0.1").route_message('[2,"b","Heartbeat",{"extra":1}]')
    await peer(events, "2.0.1").route_message("not json")
    await peer(events, "2.0.1").route_message('[9,"c",{}]')  # unknown message type: no answer
    assert [frame[:3] for _, frame in events.log] == [
        [4, "a", "FormationViolation"],
        [4, "-1", "FormationViolation"],
        [4, "b", "FormatViolation"],
        [4, "-1", "RpcFrameworkError"],
    ]
