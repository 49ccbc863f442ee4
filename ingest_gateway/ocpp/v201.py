"""OCPP 2.0.1: the CALLs a charging station sends and what each publishes.

- BootNotification, Heartbeat: answered with the gateway's time (and the heartbeat interval);
- StatusNotification: remembered per EVSE (see ``transactions``);
- Authorize: every idToken is Accepted (the idtag mapping is applied when sessions are stored);
- TransactionEvent: its meterValue as register readings; ``Started`` publishes a
  ``started`` session event, ``Ended`` an ``ended`` one (with the stoppedReason), and an
  ``Updated`` event whose idToken is new for the transaction an ``updated`` one;
- MeterValues: one register reading per meter value.
Readings are keyed ``{chargePointId}:{evseId}``; the transaction id is the station's.
"""

from __future__ import annotations

from typing import Any

from ocpp.exceptions import OccurrenceConstraintViolationError
from ocpp.v201 import ChargePoint, call_result
from ocpp.v201.enums import Action, RegistrationStatusEnumType

from ingest_gateway.ocpp import metrics
from ingest_gateway.ocpp.peer import OcppPeer, handles, log
from ingest_gateway.ocpp.records import reading_records, session_record
from ingest_gateway.ocpp.samples import meter_samples
from schemas.sessions import meter_id_for

ACCEPTED = {"status": "Accepted"}
EVENTS = {"Started": "started", "Updated": "updated", "Ended": "ended"}


class ChargePoint201(OcppPeer, ChargePoint):  # type: ignore[misc]  # ocpp is untyped
    """One 2.0.1 charging station connection."""

    protocol = "ocpp2.0.1"
    actions = Action

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.statuses: dict[int, str] = {}

    @handles(Action.boot_notification)
    async def on_boot(self, charging_station: dict[str, Any], reason: str, **_: Any) -> Any:
        log.info("boot", extra={"chargePointId": self.id, "station": charging_station, "reason": reason})
        return call_result.BootNotification(
            current_time=self.now_iso(),
            interval=self.ctx.heartbeat_interval_s,
            status=RegistrationStatusEnumType.accepted,
        )

    @handles(Action.heartbeat)
    async def on_heartbeat(self, **_: Any) -> Any:
        return call_result.Heartbeat(current_time=self.now_iso())

    @handles(Action.status_notification)
    async def on_status(self, evse_id: int, connector_status: str, **_: Any) -> Any:
        self.statuses[evse_id] = connector_status
        return call_result.StatusNotification()

    @handles(Action.authorize)
    async def on_authorize(self, id_token: dict[str, Any], **_: Any) -> Any:
        return call_result.Authorize(id_token_info=ACCEPTED)

    @handles(Action.meter_values)
    async def on_meter_values(self, evse_id: int, meter_value: list[dict[str, Any]], **_: Any) -> Any:
        meter = meter_id_for(self.id, evse_id)
        samples = meter_samples(meter_value, "2.0.1")
        await self.publish(reading_records(meter, samples, self.clock(), self.received_ms))
        return call_result.MeterValues()

    def _evse_of(self, transaction_id: str, evse: dict[str, Any] | None, event_type: str) -> int | None:
        if evse is not None:
            return int(evse["id"])
        known = self.ctx.book.find(self.id, transaction_id)
        if known is not None:
            return known.connector_id
        if event_type == "Started":
            raise OccurrenceConstraintViolationError(
                details={"cause": "a Started TransactionEvent must name its evse"}
            )
        busy = [e for e, s in self.statuses.items() if s == "Occupied" and e > 0]
        return busy[0] if len(busy) == 1 else None

    @handles(Action.transaction_event)
    async def on_transaction_event(
        self,
        event_type: str,
        timestamp: str,
        transaction_info: dict[str, Any],
        evse: dict[str, Any] | None = None,
        id_token: dict[str, Any] | None = None,
        meter_value: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> Any:
        answer = call_result.TransactionEvent(id_token_info=ACCEPTED if id_token else None)
        tx = str(transaction_info["transaction_id"])
        evse_id = self._evse_of(tx, evse, event_type)
        if evse_id is None:
            metrics.UNKNOWN_TRANSACTIONS.labels("2.0.1").inc()
            log.warning(
                "TransactionEvent of a transaction this process does not know; nothing published",
                extra={"chargePointId": self.id, "transactionId": tx, "eventType": event_type},
            )
            return answer
        meter = meter_id_for(self.id, evse_id)
        records = reading_records(
            meter, meter_samples(meter_value or [], "2.0.1"), self.clock(), self.received_ms
        )
        tag = id_token["id_token"] if id_token else None
        known = self.ctx.book.find(self.id, tx)
        event = EVENTS[event_type]
        if event != "updated" or (tag is not None and (known is None or known.id_tag != tag)):
            records.append(
                session_record(
                    protocol=self.protocol,
                    charge_point_id=self.id,
                    connector_id=evse_id,
                    meter_id=meter,
                    transaction_id=tx,
                    event=event,
                    timestamp=timestamp,
                    received_ms=self.received_ms,
                    clock=self.clock(),
                    id_tag=tag or (known.id_tag if known else None),
                    stop_reason=transaction_info.get("stopped_reason") if event == "ended" else None,
                )
            )
        await self.publish(records)
        self.ctx.book.learn(self.id, tx, evse_id, tag)
        return answer
