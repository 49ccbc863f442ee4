"""One simulated charge point: a WebSocket to the gateway and the ``ocpp`` library's
ChargePoint in the client role on it, playing its sessions.

The script of a session: Authorize, StatusNotification (charging), StartTransaction
(1.6) or TransactionEvent Started (2.0.1), one MeterValues / TransactionEvent Updated per
sample (a Heartbeat every few), the plan's duplicate sent twice, a reconnect (close,
connect again, BootNotification) where the plan says, then StopTransaction or
TransactionEvent Ended and StatusNotification (available). Every frame can be recorded
for a transcript.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v201 import ChargePoint as ChargePoint201
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from simulator.ocpp_dialects import Dialect, dialect_for
from simulator.ocpp_frames import iso
from simulator.ocpp_plan import SessionPlan

HEARTBEAT_EVERY = 5  # samples


@dataclass(frozen=True, slots=True)
class StationConfig:
    """Where and as whom one charge point connects."""

    charge_point_id: str
    protocol: str  # ocpp1.6 | ocpp2.0.1
    base_url: str  # ws://host:port/ocpp
    token: str
    pace_s: float = 0.0  # real seconds between two samples (0: as fast as they are answered)
    response_timeout_s: float = 30.0
    skip_validation: bool = False  # no JSON-schema check of our own CALLs (a load generator's saving)

    @property
    def url(self) -> str:
        return f"{self.base_url.rstrip('/')}/{self.charge_point_id}"

    def basic_auth(self) -> str:
        raw = f"{self.charge_point_id}:{self.token}".encode()
        return "Basic " + base64.b64encode(raw).decode()


@dataclass(slots=True)
class StationStats:
    """What one charge point did."""

    calls: int = 0
    readings_acknowledged: int = 0  # register readings in answered calls (duplicates included)
    connects: int = 0
    boots_refused: int = 0
    errors: list[str] = field(default_factory=list)
    transactions: list[str] = field(default_factory=list)
    call_latencies_s: list[float] = field(default_factory=list)


class _Recording:
    """The WebSocket as the ChargePoint sees it, writing each frame to ``frames``."""

    def __init__(self, ws: ClientConnection, frames: list[tuple[str, str]] | None) -> None:
        self._ws = ws
        self._frames = frames

    async def send(self, message: str) -> None:
        if self._frames is not None:
            self._frames.append(("sent", message))
        await self._ws.send(message)

    async def recv(self) -> str | bytes:
        message = await self._ws.recv()
        if self._frames is not None:
            self._frames.append(("received", message if isinstance(message, str) else repr(message)))
        return message


class Link:
    """One connection: the socket, the library's ChargePoint, and the task reading answers."""

    def __init__(
        self, config: StationConfig, stats: StationStats, frames: list[tuple[str, str]] | None
    ) -> None:
        self.config = config
        self.stats = stats
        self.frames = frames
        self._ws: ClientConnection | None = None
        self._cp: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self._ws = await connect(
            self.config.url,
            subprotocols=[Subprotocol(self.config.protocol)],
            additional_headers={"Authorization": self.config.basic_auth()},
            open_timeout=15,
        )
        cls = ChargePoint16 if self.config.protocol == "ocpp1.6" else ChargePoint201
        self._cp = cls(
            self.config.charge_point_id,
            _Recording(self._ws, self.frames),
            response_timeout=self.config.response_timeout_s,
        )
        self._reader = asyncio.create_task(self._cp.start())
        self.stats.connects += 1
        if self.frames is not None:
            self.frames.append(("note", f"connected: {self.config.url}, subprotocol {self._ws.subprotocol}"))

    async def call(self, payload: Any) -> Any:
        t0 = time.perf_counter()
        answer = await self._cp.call(
            payload, suppress=False, skip_schema_validation=self.config.skip_validation
        )
        self.stats.call_latencies_s.append(time.perf_counter() - t0)
        self.stats.calls += 1
        return answer

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            if self.frames is not None:
                self.frames.append(("note", "closed the WebSocket"))
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        self._ws, self._cp, self._reader = None, None, None


async def _connect_and_boot(link: Link, dialect: Dialect, connector: int) -> None:
    await link.open()
    status = await dialect.boot(link)
    if status != "Accepted":
        link.stats.boots_refused += 1
    await dialect.status(link, connector, charging=False, at=iso_now())


def iso_now() -> str:
    return iso(datetime.now(UTC).replace(microsecond=0))


async def play_session(
    link: Link, dialect: Dialect, plan: SessionPlan, transaction_id: str, config: StationConfig
) -> str:
    """One transaction from Authorize to the stop; returns the transaction id used."""
    stats = link.stats
    await dialect.authorize(link, plan.id_tag)
    await dialect.status(link, plan.connector, charging=True, at=iso(plan.start))
    tx = await dialect.start(link, plan, transaction_id)
    stats.readings_acknowledged += 1
    stats.transactions.append(tx)
    seq = 1
    for i, sample in enumerate(plan.samples):
        if plan.reconnect_after is not None and i == plan.reconnect_after:
            await link.close()
            await _connect_and_boot(link, dialect, plan.connector)
        if config.pace_s:
            await asyncio.sleep(config.pace_s)
        await dialect.sample(link, plan, tx, sample, seq)
        seq += 1
        stats.readings_acknowledged += 1
        if plan.duplicate_at == i:
            await dialect.resend(link, plan, tx, sample, seq)
            stats.readings_acknowledged += 1
        if i % HEARTBEAT_EVERY == HEARTBEAT_EVERY - 1:
            await dialect.heartbeat(link)
    await dialect.stop(link, plan, tx, seq)
    stats.readings_acknowledged += 1
    await dialect.status(link, plan.connector, charging=False, at=iso(plan.stop))
    return tx


async def run_station(
    config: StationConfig,
    plans: list[SessionPlan],
    frames: list[tuple[str, str]] | None = None,
    stats: StationStats | None = None,
) -> StationStats:
    """Connect, boot and play every session; errors are counted, not raised."""
    stats = stats if stats is not None else StationStats()
    dialect = dialect_for(config.protocol)
    link = Link(config, stats, frames)
    try:
        await _connect_and_boot(link, dialect, 1)
        for n, plan in enumerate(plans, 1):
            await play_session(link, dialect, plan, f"tx-{int(plan.start.timestamp())}-{n}", config)
    except Exception as exc:  # a simulator reports what went wrong and carries on with the others
        stats.errors.append(f"{config.charge_point_id}: {exc.__class__.__name__}: {exc}")
    finally:
        await link.close()
    return stats
