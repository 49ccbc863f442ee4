"""The bench's load: N OCPP charge points sending MeterValues, and HTTP devices beside them.

Charge points connect (ramped), boot and start one transaction each; then, at a barrier,
every one sends MeterValues with one register reading each, back to back (a charge point
waits for each CALLRESULT, as OCPP allows one CALL in flight) or paced, for the measured
seconds. The HTTP side posts the same kind of reading (``kwhRegisterAc``) for as long,
single readings or batches. Register values rise by a few Wh per reading; reading times
are one second apart per device, from a base in the past, so every reading is new.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from common.tokens import Scope, issue
from simulator.ocpp_frames import iso
from simulator.ocpp_station import Link, StationConfig, StationStats
from simulator.poster import PostSummary, post_all

REGISTER_STEP_WH = 37


@dataclass(slots=True)
class OcppLoadResult:
    """One OCPP run: readings acknowledged in the measured seconds, and everything sent."""

    charge_points: int
    measured_readings: int = 0
    seconds: float = 0.0
    started_epoch: float = 0.0
    setup_readings: int = 0
    errors: list[str] = field(default_factory=list)
    call_latencies_s: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.measured_readings / self.seconds if self.seconds else 0.0

    @property
    def stored_expected(self) -> int:
        return self.measured_readings + self.setup_readings


def _register_value(protocol: str, at: datetime, wh: int) -> dict[str, object]:
    sampled: dict[str, object] = {"measurand": "Energy.Active.Import.Register"}
    if protocol == "ocpp1.6":
        sampled |= {"value": str(wh), "unit": "Wh"}
    else:
        sampled |= {"value": float(wh), "unitOfMeasure": {"unit": "Wh"}}
    return {"timestamp": iso(at), "sampledValue": [sampled]}


class _ChargePoint:
    """One connected charge point with an open transaction."""

    def __init__(self, config: StationConfig, base: datetime) -> None:
        self.stats = StationStats()
        self.link = Link(config, self.stats, None)
        self.protocol = config.protocol
        self.base = base
        self.sent = 0
        self.transaction: int | None = None

    async def setup(self) -> None:
        await self.link.open()
        if self.protocol == "ocpp1.6":
            await self.link.call(
                call16.BootNotification(charge_point_model="bench", charge_point_vendor="bench")
            )
            started = await self.link.call(
                call16.StartTransaction(
                    connector_id=1, id_tag="bench", meter_start=0, timestamp=iso(self.base)
                )
            )
            self.transaction = int(started.transaction_id)
        else:
            station = {"model": "bench", "vendor_name": "bench"}
            await self.link.call(call201.BootNotification(charging_station=station, reason="PowerUp"))
            await self.link.call(
                call201.TransactionEvent(
                    event_type="Started",
                    timestamp=iso(self.base),
                    trigger_reason="Authorized",
                    seq_no=0,
                    transaction_info={"transaction_id": "bench-1"},
                    evse={"id": 1, "connector_id": 1},
                    meter_value=[_register_value(self.protocol, self.base, 0)],
                )
            )

    async def send_one(self) -> None:
        n = self.sent + 1
        value = _register_value(self.protocol, self.base + timedelta(seconds=n), n * REGISTER_STEP_WH)
        if self.protocol == "ocpp1.6":
            payload = call16.MeterValues(connector_id=1, transaction_id=self.transaction, meter_value=[value])
        else:
            payload = call201.MeterValues(evse_id=1, meter_value=[value])
        await self.link.call(payload)
        self.sent = n


async def ocpp_load(
    ws_base: str,
    protocol: str,
    secret: str,
    charge_points: int,
    seconds: float,
    base: datetime,
    prefix: str,
    rate: float | None = None,
    connect_per_s: float = 250.0,
) -> OcppLoadResult:
    """Connect ``charge_points``, then send MeterValues for ``seconds`` (flat out, or ``rate``
    readings/s over all of them)."""
    result = OcppLoadResult(charge_points)
    cps = [
        _ChargePoint(
            StationConfig(cid, protocol, ws_base, issue(secret, Scope.CHARGER, cid), skip_validation=True),
            base,
        )
        for cid in (f"{prefix}-{i:05d}" for i in range(charge_points))
    ]

    async def setup(i: int, cp: _ChargePoint) -> None:
        await asyncio.sleep(i / connect_per_s)
        await cp.setup()

    await asyncio.gather(*(setup(i, cp) for i, cp in enumerate(cps)))
    result.setup_readings = len(cps)
    interval = charge_points / rate if rate else 0.0
    started = time.perf_counter()
    result.started_epoch = time.time()
    deadline = started + seconds

    async def loop(i: int, cp: _ChargePoint) -> None:
        due = started + (i / charge_points) * interval
        while True:
            if interval:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                due += interval
            if time.perf_counter() >= deadline:
                return
            await cp.send_one()

    outcomes = await asyncio.gather(*(loop(i, cp) for i, cp in enumerate(cps)), return_exceptions=True)
    result.seconds = time.perf_counter() - started
    result.errors = [f"{type(o).__name__}: {o}" for o in outcomes if isinstance(o, BaseException)]
    for cp in cps:
        result.measured_readings += cp.sent
        result.call_latencies_s += cp.stats.call_latencies_s[2:]
    await asyncio.gather(*(cp.link.close() for cp in cps))
    return result


def http_bodies(
    devices: int, batch: int, deadline: float, base: datetime, prefix: str
) -> Iterator[tuple[int, bytes]]:
    """Register readings of ``devices`` meters, ``batch`` per body, until ``deadline``."""
    k = 0
    while time.perf_counter() < deadline:
        chunk = []
        for _ in range(batch):
            n, meter = divmod(k, devices)
            k += 1
            chunk.append(
                {
                    "type": "meter",
                    "meterId": f"{prefix}-{meter:05d}",
                    "kwhRegisterAc": (n + 1) * REGISTER_STEP_WH / 1000,
                    "timestamp": iso(base + timedelta(seconds=n + 1)),
                }
            )
        yield len(chunk), orjson.dumps(chunk[0] if batch == 1 else chunk)


def http_load(
    url: str,
    token: str,
    devices: int,
    batch: int,
    concurrency: int,
    seconds: float,
    base: datetime,
    prefix: str,
    rate: float | None = None,
) -> PostSummary:
    """POST register readings for ``seconds`` (flat out or at ``rate`` readings/s)."""
    deadline = time.perf_counter() + seconds
    bodies = http_bodies(devices, batch, deadline, base, prefix)
    return asyncio.run(post_all(url, token, bodies, concurrency=concurrency, rate=rate, progress=False))
