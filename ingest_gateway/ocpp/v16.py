"""OCPP 1.6J: the CALLs a charge point sends and what each publishes.

- BootNotification, Heartbeat: answered with the gateway's time (and the heartbeat interval);
- StatusNotification: remembered per connector (to find a transaction's connector after a
  restart of the gateway, see ``transactions``);
- Authorize: every idTag is Accepted (the gateway keeps no card list: which vehicle a card
  belongs to is the idtag mapping, applied when sessions are stored);
- StartTransaction: the meterStart register reading and a ``started`` session event; the
  answer carries the transaction id the gateway assigned;
- MeterValues: one register reading per meter value;
- StopTransaction: the transactionData readings, the meterStop reading and an ``ended``
  session event.
Readings are keyed ``{chargePointId}:{connectorId}``.
"""

from __future__ import annotations

from typing import Any

from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus

from ingest_gateway.enqueue import Record
from ingest_gateway.ocpp import metrics
from ingest_gateway.ocpp.peer import OcppPeer, handles, log
from ingest_gateway.ocpp.records import reading_records, session_record
from ingest_gateway.ocpp.samples import MeterSample, meter_samples, scaled
from schemas.sessions import meter_id_for

ACCEPTED = IdTagInfo(status=AuthorizationStatus.accepted)
# Connector states in which a connector holds a transaction.
IN_TRANSACTION = frozenset({"Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"})


class ChargePoint16(OcppPeer, ChargePoint):  # type: ignore[misc]  # ocpp is untyped
    """One 1.6J charge point connection."""

    protocol = "ocpp1.6"
    actions = Action

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.statuses: dict[int, str] = {}

    def _session(
        self, connector_id: int, transaction_id: int, event: str, timestamp: str, **extra: Any
    ) -> Record:
        return session_record(
            protocol=self.protocol,
            charge_point_id=self.id,
            connector_id=connector_id,
            meter_id=meter_id_for(self.id, connector_id),
            transaction_id=str(transaction_id),
            event=event,
            timestamp=timestamp,
            received_ms=self.received_ms,
            clock=self.clock(),
            **extra,
        )

    def _readings(self, connector_id: int, samples: list[MeterSample]) -> list[Record]:
        return reading_records(meter_id_for(self.id, connector_id), samples, self.clock(), self.received_ms)

    @handles(Action.boot_notification)
    async def on_boot(self, charge_point_vendor: str, charge_point_model: str, **_: Any) -> Any:
        log.info(
            "boot",
            extra={"chargePointId": self.id, "vendor": charge_point_vendor, "model": charge_point_model},
        )
        return call_result.BootNotification(
            current_time=self.now_iso(),
            interval=self.ctx.heartbeat_interval_s,
            status=RegistrationStatus.accepted,
        )

    @handles(Action.heartbeat)
    async def on_heartbeat(self) -> Any:
        return call_result.Heartbeat(current_time=self.now_iso())

    @handles(Action.status_notification)
    async def on_status(self, connector_id: int, status: str, **_: Any) -> Any:
        self.statuses[connector_id] = status
        return call_result.StatusNotification()

    @handles(Action.authorize)
    async def on_authorize(self, id_tag: str) -> Any:
        return call_result.Authorize(id_tag_info=ACCEPTED)

    @handles(Action.start_transaction)
    async def on_start(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **_: Any
    ) -> Any:
        start = MeterSample(timestamp, scaled(meter_start, -3), None)
        records = self._readings(connector_id, [start])  # checks the timestamp before an id is taken
        tx, new = self.ctx.book.start_16(self.id, (connector_id, id_tag, meter_start, timestamp))
        records.append(self._session(connector_id, tx, "started", timestamp, id_tag=id_tag))
        await self.publish(records)
        log.info(
            "transaction started" if new else "transaction start repeated",
            extra={"chargePointId": self.id, "connectorId": connector_id, "transactionId": tx},
        )
        return call_result.StartTransaction(transaction_id=tx, id_tag_info=ACCEPTED)

    @handles(Action.meter_values)
    async def on_meter_values(
        self, connector_id: int, meter_value: list[dict[str, Any]], transaction_id: int | None = None
    ) -> Any:
        records = self._readings(connector_id, meter_samples(meter_value, "1.6"))
        await self.publish(records)
        if transaction_id is not None and connector_id > 0:
            self.ctx.book.learn(self.id, str(transaction_id), connector_id, None)
        return call_result.MeterValues()

    def _connector_of(self, transaction_id: int) -> int | None:
        known = self.ctx.book.find(self.id, str(transaction_id))
        if known is not None:
            return known.connector_id
        busy = [c for c, s in self.statuses.items() if s in IN_TRANSACTION and c > 0]
        return busy[0] if len(busy) == 1 else None

    @handles(Action.stop_transaction)
    async def on_stop(
        self,
        meter_stop: int,
        timestamp: str,
        transaction_id: int,
        reason: str | None = None,
        id_tag: str | None = None,
        transaction_data: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> Any:
        answer = call_result.StopTransaction(id_tag_info=ACCEPTED if id_tag else None)
        connector = self._connector_of(transaction_id)
        if connector is None:
            metrics.UNKNOWN_TRANSACTIONS.labels("1.6").inc()
            log.warning(
                "StopTransaction of a transaction this process does not know; nothing published",
                extra={"chargePointId": self.id, "transactionId": transaction_id},
            )
            return answer
        samples = [
            *meter_samples(transaction_data or [], "1.6"),
            MeterSample(timestamp, scaled(meter_stop, -3), None),
        ]
        records = self._readings(connector, samples)
        known = self.ctx.book.find(self.id, str(transaction_id))
        tag = id_tag or (known.id_tag if known else None)
        records.append(
            self._session(connector, transaction_id, "ended", timestamp, id_tag=tag, stop_reason=reason)
        )
        await self.publish(records)
        log.info("transaction ended", extra={"chargePointId": self.id, "transactionId": transaction_id})
        return answer
