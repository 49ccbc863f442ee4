"""The peer of the OCPP tests: the ``ocpp`` library's ChargePoint in the client role over a
real WebSocket (the ``websockets`` client), with every frame recorded for the transcript."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import ssl
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import orjson
from ocpp.v16 import ChargePoint as Client16
from ocpp.v201 import ChargePoint as Client201
from websockets.asyncio.client import ClientConnection, connect

from common.tokens import Scope, issue
from devstack import free_port
from energy_ingest.procs import ServiceProcess, wait_http
from tests.gateway.helpers import Gateway, end_offsets, read_messages
from tests.tls import wait_https

SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}


def charger_token(env: Mapping[str, str], charge_point_id: str, **kwargs: Any) -> str:
    """A ``charger`` token of ``charge_point_id`` signed with the stack's key."""
    return issue(env["AUTH_SECRET"], Scope.CHARGER, charge_point_id, **kwargs)


def basic(user: str, password: str) -> dict[str, str]:
    """The Authorization header of HTTP Basic."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def ws_url(http_url: str, charge_point_id: str) -> str:
    """The OCPP URL of a charge point on the gateway at ``http_url``."""
    return http_url.replace("http", "ws", 1) + f"/ocpp/{charge_point_id}"


class Wire:
    """The WebSocket as the ``ocpp`` client uses it, keeping every frame in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[tuple[str, str]] = []

    async def recv(self) -> str:
        message = await self.ws.recv()
        text = message if isinstance(message, str) else message.decode()
        self.frames.append(("<-", text))
        return text

    async def send(self, message: str) -> None:
        self.frames.append(("->", message))
        await self.ws.send(message)

    def transcript(self) -> str:
        """The session as lines ``-> CALL`` / ``<- answer``."""
        return "\n".join(f"{d} {m}" for d, m in self.frames)


@contextlib.asynccontextmanager
async def open_ws(
    url: str, subprotocols: list[str], headers: Mapping[str, str] | None = None, **kwargs: Any
) -> AsyncIterator[ClientConnection]:
    """A raw WebSocket to the gateway (no proxy, short timeouts)."""
    async with connect(
        url,
        subprotocols=subprotocols,  # type: ignore[arg-type]
        additional_headers=dict(headers or {}),
        proxy=None,
        open_timeout=15,
        close_timeout=2,
        **kwargs,
    ) as ws:
        yield ws


@contextlib.asynccontextmanager
async def charge_point(
    gateway_url: str, charge_point_id: str, token: str, version: str
) -> AsyncIterator[tuple[Any, Wire]]:
    """A connected client ChargePoint of ``version`` ("1.6" or "2.0.1") and its wire."""
    url = ws_url(gateway_url, charge_point_id)
    async with open_ws(url, [SUBPROTOCOL[version]], basic(charge_point_id, token)) as ws:
        assert ws.subprotocol == SUBPROTOCOL[version]
        wire = Wire(ws)
        client = (Client16 if version == "1.6" else Client201)(charge_point_id, wire, response_timeout=15)
        task = asyncio.create_task(client.start())
        try:
            yield client, wire
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def offsets(env: Mapping[str, str]) -> dict[tuple[str, int], int]:
    """The end offsets of the telemetry topics (meter, vehicle, session)."""
    return await asyncio.to_thread(end_offsets, env)


async def records_since(
    env: Mapping[str, str], before: dict[tuple[str, int], int]
) -> list[tuple[str, str, Any]]:
    """(topic, key, value) of every record published since ``before``, per key in offset order."""
    after = await offsets(env)
    if all(n <= before.get(tp, 0) for tp, n in after.items()):
        return []  # (the reader cannot be started on no partition)
    messages = await asyncio.to_thread(read_messages, env, before, after)
    messages.sort(key=lambda m: (m.topic, m.partition, m.offset))
    return [(m.topic, m.key.decode(), orjson.loads(m.value)) for m in messages]


async def raw_call(ws: ClientConnection, frame: str) -> list[Any]:
    """Send one frame and return the gateway's answer (parsed)."""
    await ws.send(frame)
    answer = await asyncio.wait_for(ws.recv(), 15)
    parsed: list[Any] = orjson.loads(answer)
    return parsed


@contextlib.contextmanager
def own_gateway(
    name: str, stack_env: Mapping[str, str], path: str = "/readyz", **extra: str
) -> Iterator[Gateway]:
    """A gateway process with ``extra`` settings, once ``path`` answers 200 (plain HTTP or,
    with ``GATEWAY_TLS_CERT_FILE``, HTTPS verified against that certificate)."""
    port = free_port()
    env = dict(stack_env) | {"GATEWAY_PORT": str(port)} | extra
    cert = extra.get("GATEWAY_TLS_CERT_FILE")
    scheme = "https" if cert else "http"
    sink = None if os.environ.get("TEST_SERVICE_OUTPUT") else open(os.devnull, "w")  # noqa: SIM115
    proc = ServiceProcess(name, ["gateway"], env, sink=sink).start()
    try:
        url = f"{scheme}://127.0.0.1:{port}"
        if cert:
            wait_https(f"{url}{path}", ssl.create_default_context(cafile=cert), proc, expect=200)
        else:
            wait_http(f"{url}{path}", 90, proc)
        yield Gateway(proc, url, env)
    finally:
        proc.stop()
        if sink is not None:
            sink.close()
