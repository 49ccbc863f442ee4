"""The end-to-end tests' charge point: the ``ocpp`` library's ChargePoint in the client role
over a real WebSocket (through the simulator's :class:`~simulator.ocpp_station.Link`, which
records every frame), playing one scripted session.

A script is a list of steps: a register sample at a minute after the start (its value in
whole Wh, the way the charge point writes it), ``dup`` (send the previous sample again),
``reconnect`` (close the socket, connect again, BootNotification). The expected energy is
computed from the Wh values alone, in :func:`energy_wh`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from simulator.ocpp_frames import Protocol, iso, sampled_values
from simulator.ocpp_plan import UnitStyle
from simulator.ocpp_station import Link, StationConfig, StationStats

TAG_TYPE = "ISO14443"


@dataclass(frozen=True, slots=True)
class Sample:
    minute: int
    wh: int
    style: UnitStyle = UnitStyle.WH
    per_phase: bool = False
    voltage: float | None = None


Step = Sample | Literal["dup", "reconnect"]


@dataclass(frozen=True, slots=True)
class Script:
    """One session: the register at the start, the steps, the register at the stop."""

    start: datetime
    start_wh: int
    steps: tuple[Step, ...]
    stop_minute: int
    stop_wh: int
    stop_style: UnitStyle = UnitStyle.WH

    @property
    def stop(self) -> datetime:
        return self.start + timedelta(minutes=self.stop_minute)

    def at(self, minute: int) -> datetime:
        return self.start + timedelta(minutes=minute)

    def series(self) -> list[tuple[datetime, int]]:
        """Every register reading sent, duplicates included, in sending order."""
        out = [(self.start, self.start_wh)]
        last: tuple[datetime, int] | None = None
        for step in self.steps:
            if isinstance(step, Sample):
                last = (self.at(step.minute), step.wh)
                out.append(last)
            elif step == "dup" and last is not None:
                out.append(last)
        return [*out, (self.stop, self.stop_wh)]


def energy_wh(series: list[tuple[datetime, int]], after: datetime, upto: datetime) -> int:
    """The issue's rule in plain Python: sort by time, one reading per time; a rise counts
    its difference, a fall (reset) the new value; the first reading counts 0."""
    by_time = dict(series)
    times = sorted(by_time)
    total = 0
    for prev, ts in itertools.pairwise(times):
        if after < ts <= upto:
            now, before = by_time[ts], by_time[prev]
            total += now - before if now >= before else now
    return total


def _values(protocol: Protocol, s: Sample, context: str = "Sample.Periodic") -> list[dict[str, Any]]:
    return sampled_values(protocol, s.wh, s.style, s.per_phase, s.voltage, context)


async def _boot(link: Link, protocol: Protocol) -> None:
    if protocol == "ocpp1.6":
        answer = await link.call(
            call16.BootNotification(charge_point_model="e2e", charge_point_vendor="tests")
        )
    else:
        station = {"model": "e2e", "vendor_name": "tests"}
        answer = await link.call(call201.BootNotification(charging_station=station, reason="PowerUp"))
    assert answer.status == "Accepted", answer


async def play(config: StationConfig, script: Script, id_tag: str, frames: list[tuple[str, str]]) -> str:
    """Play ``script`` as charge point ``config``; returns the transaction id."""
    protocol: Protocol = "ocpp1.6" if config.protocol == "ocpp1.6" else "ocpp2.0.1"
    stats = StationStats()
    link = Link(config, stats, frames)
    await link.open()
    try:
        await _boot(link, protocol)
        if protocol == "ocpp1.6":
            tx = await _play16(link, script, id_tag)
        else:
            tx = await _play201(link, script, id_tag)
    finally:
        await link.close()
    return tx


async def _play16(link: Link, script: Script, id_tag: str) -> str:
    await link.call(call16.Heartbeat())
    await link.call(call16.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
    auth = await link.call(call16.Authorize(id_tag=id_tag))
    assert auth.id_tag_info["status"] == "Accepted", auth
    started = await link.call(
        call16.StartTransaction(
            connector_id=1, id_tag=id_tag, meter_start=script.start_wh, timestamp=iso(script.start)
        )
    )
    tx = int(started.transaction_id)
    last: Sample | None = None
    for step in script.steps:
        if step == "reconnect":
            await link.close()
            await link.open()
            await _boot(link, "ocpp1.6")
            continue
        sample = last if step == "dup" else step
        assert isinstance(sample, Sample)
        value = {"timestamp": iso(script.at(sample.minute)), "sampledValue": _values("ocpp1.6", sample)}
        await link.call(call16.MeterValues(connector_id=1, transaction_id=tx, meter_value=[value]))
        last = sample
    await link.call(
        call16.StopTransaction(
            meter_stop=script.stop_wh,
            timestamp=iso(script.stop),
            transaction_id=tx,
            id_tag=id_tag,
            reason="Local",
        )
    )
    await link.call(call16.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
    return str(tx)


async def _play201(link: Link, script: Script, id_tag: str) -> str:
    token = {"id_token": id_tag, "type": TAG_TYPE}
    tx = f"e2e-{int(script.start.timestamp())}"
    await link.call(call201.Heartbeat())
    await link.call(
        call201.StatusNotification(
            timestamp=iso(script.start), connector_status="Available", evse_id=1, connector_id=1
        )
    )
    auth = await link.call(call201.Authorize(id_token=token))
    assert auth.id_token_info["status"] == "Accepted", auth
    begin = Sample(0, script.start_wh)
    await link.call(
        call201.TransactionEvent(
            event_type="Started",
            timestamp=iso(script.start),
            trigger_reason="Authorized",
            seq_no=0,
            transaction_info={"transaction_id": tx, "charging_state": "Charging"},
            id_token=token,
            evse={"id": 1, "connector_id": 1},
            meter_value=[
                {
                    "timestamp": iso(script.start),
                    "sampledValue": _values("ocpp2.0.1", begin, "Transaction.Begin"),
                }
            ],
        )
    )
    seq, last = 1, None
    for step in script.steps:
        if step == "reconnect":
            await link.close()
            await link.open()
            await _boot(link, "ocpp2.0.1")
            continue
        if step == "dup":  # the same sample again, as a plain MeterValues
            assert last is not None
            value = {"timestamp": iso(script.at(last.minute)), "sampledValue": _values("ocpp2.0.1", last)}
            await link.call(call201.MeterValues(evse_id=1, meter_value=[value]))
            continue
        assert isinstance(step, Sample)
        value = {"timestamp": iso(script.at(step.minute)), "sampledValue": _values("ocpp2.0.1", step)}
        await link.call(
            call201.TransactionEvent(
                event_type="Updated",
                timestamp=iso(script.at(step.minute)),
                trigger_reason="MeterValuePeriodic",
                seq_no=seq,
                transaction_info={"transaction_id": tx},
                evse={"id": 1},
                meter_value=[value],
            )
        )
        seq, last = seq + 1, step
    end = Sample(script.stop_minute, script.stop_wh, script.stop_style)
    await link.call(
        call201.TransactionEvent(
            event_type="Ended",
            timestamp=iso(script.stop),
            trigger_reason="StopAuthorized",
            seq_no=seq,
            transaction_info={"transaction_id": tx, "stopped_reason": "Local"},
            id_token=token,
            evse={"id": 1},
            meter_value=[
                {"timestamp": iso(script.stop), "sampledValue": _values("ocpp2.0.1", end, "Transaction.End")}
            ],
        )
    )
    return tx
