"""The CALLs a charge point sends, in OCPP 1.6J and in 2.0.1, as the ``ocpp`` library's payloads.

One class per version with the same methods, so the station's script is written once.
Each method builds the request (the library checks it against the version's JSON schema
before sending) and returns what the central system answered; a CALLERROR raises the
library's ``OCPPError`` (calls are made with ``suppress=False``).
"""

from __future__ import annotations

from typing import Any, Final, Protocol

from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from simulator.ocpp_frames import iso, meter_value
from simulator.ocpp_plan import Sample, SessionPlan

VENDOR, MODEL = "energy-ingest", "simulated charger"


class Caller(Protocol):
    """What a dialect needs from a connection: one CALL, its answer back."""

    async def call(self, payload: Any) -> Any: ...


class Ocpp16:
    """OCPP 1.6J: StartTransaction/MeterValues/StopTransaction; the central system numbers
    the transaction."""

    protocol: Final = "ocpp1.6"

    async def boot(self, link: Caller) -> str:
        answer = await link.call(
            call16.BootNotification(charge_point_model=MODEL, charge_point_vendor=VENDOR)
        )
        return str(answer.status)

    async def heartbeat(self, link: Caller) -> None:
        await link.call(call16.Heartbeat())

    async def status(self, link: Caller, connector: int, charging: bool, at: str) -> None:
        status = "Charging" if charging else "Available"
        await link.call(
            call16.StatusNotification(
                connector_id=connector, error_code="NoError", status=status, timestamp=at
            )
        )

    async def authorize(self, link: Caller, id_tag: str) -> str:
        answer = await link.call(call16.Authorize(id_tag=id_tag))
        return str(answer.id_tag_info["status"])

    async def start(self, link: Caller, plan: SessionPlan, transaction_id: str) -> str:
        answer = await link.call(
            call16.StartTransaction(
                connector_id=plan.connector,
                id_tag=plan.id_tag,
                meter_start=plan.meter_start_wh,
                timestamp=iso(plan.start),
            )
        )
        return str(answer.transaction_id)

    async def sample(self, link: Caller, plan: SessionPlan, transaction_id: str, s: Sample, seq: int) -> None:
        value = meter_value(self.protocol, s.at, s.register_wh, plan.style, plan.per_phase, s.voltage)
        await link.call(
            call16.MeterValues(
                connector_id=plan.connector, meter_value=[value], transaction_id=int(transaction_id)
            )
        )

    async def resend(self, link: Caller, plan: SessionPlan, transaction_id: str, s: Sample, seq: int) -> None:
        await self.sample(link, plan, transaction_id, s, seq)

    async def stop(self, link: Caller, plan: SessionPlan, transaction_id: str, seq: int) -> None:
        end = meter_value(
            self.protocol, plan.stop, plan.meter_stop_wh, plan.style, plan.per_phase, None, "Transaction.End"
        )
        await link.call(
            call16.StopTransaction(
                meter_stop=plan.meter_stop_wh,
                timestamp=iso(plan.stop),
                transaction_id=int(transaction_id),
                reason="Local",
                id_tag=plan.id_tag,
                transaction_data=[end],
            )
        )


class Ocpp201:
    """OCPP 2.0.1: TransactionEvent Started/Updated/Ended carry the meter values; the charge
    point names the transaction. A resent sample goes as a plain MeterValues."""

    protocol: Final = "ocpp2.0.1"

    async def boot(self, link: Caller) -> str:
        answer = await link.call(
            call201.BootNotification(
                charging_station={"model": MODEL, "vendor_name": VENDOR}, reason="PowerUp"
            )
        )
        return str(answer.status)

    async def heartbeat(self, link: Caller) -> None:
        await link.call(call201.Heartbeat())

    async def status(self, link: Caller, connector: int, charging: bool, at: str) -> None:
        state = "Occupied" if charging else "Available"
        await link.call(
            call201.StatusNotification(
                timestamp=at, connector_status=state, evse_id=connector, connector_id=1
            )
        )

    async def authorize(self, link: Caller, id_tag: str) -> str:
        answer = await link.call(call201.Authorize(id_token={"id_token": id_tag, "type": "ISO14443"}))
        return str(answer.id_token_info["status"])

    def _value(self, plan: SessionPlan, at: Any, wh: int, voltage: float | None, context: str) -> Any:
        return meter_value(self.protocol, at, wh, plan.style, plan.per_phase, voltage, context)

    async def start(self, link: Caller, plan: SessionPlan, transaction_id: str) -> str:
        await link.call(
            call201.TransactionEvent(
                event_type="Started",
                timestamp=iso(plan.start),
                trigger_reason="Authorized",
                seq_no=0,
                transaction_info={"transaction_id": transaction_id, "charging_state": "Charging"},
                id_token={"id_token": plan.id_tag, "type": "ISO14443"},
                evse={"id": plan.connector, "connector_id": 1},
                meter_value=[self._value(plan, plan.start, plan.meter_start_wh, None, "Transaction.Begin")],
            )
        )
        return transaction_id

    async def sample(self, link: Caller, plan: SessionPlan, transaction_id: str, s: Sample, seq: int) -> None:
        await link.call(
            call201.TransactionEvent(
                event_type="Updated",
                timestamp=iso(s.at),
                trigger_reason="MeterValuePeriodic",
                seq_no=seq,
                transaction_info={"transaction_id": transaction_id},
                evse={"id": plan.connector},
                meter_value=[self._value(plan, s.at, s.register_wh, s.voltage, "Sample.Periodic")],
            )
        )

    async def resend(self, link: Caller, plan: SessionPlan, transaction_id: str, s: Sample, seq: int) -> None:
        value = self._value(plan, s.at, s.register_wh, s.voltage, "Sample.Periodic")
        await link.call(call201.MeterValues(evse_id=plan.connector, meter_value=[value]))

    async def stop(self, link: Caller, plan: SessionPlan, transaction_id: str, seq: int) -> None:
        await link.call(
            call201.TransactionEvent(
                event_type="Ended",
                timestamp=iso(plan.stop),
                trigger_reason="StopAuthorized",
                seq_no=seq,
                transaction_info={"transaction_id": transaction_id, "stopped_reason": "Local"},
                id_token={"id_token": plan.id_tag, "type": "ISO14443"},
                evse={"id": plan.connector},
                meter_value=[self._value(plan, plan.stop, plan.meter_stop_wh, None, "Transaction.End")],
            )
        )


Dialect = Ocpp16 | Ocpp201


def dialect_for(protocol: str) -> Dialect:
    """The dialect of ``ocpp1.6`` or ``ocpp2.0.1``."""
    if protocol == "ocpp1.6":
        return Ocpp16()
    if protocol == "ocpp2.0.1":
        return Ocpp201()
    raise ValueError(f"unknown OCPP protocol {protocol!r}")
