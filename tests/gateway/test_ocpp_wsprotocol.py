"""A refused WebSocket handshake is not logged as an error by uvicorn (with the gateway's
protocol class), over a real socket; no Kafka needed."""

from __future__ import annotations

import asyncio
import logging

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send
from websockets.exceptions import InvalidStatus

from devstack import free_port
from ingest_gateway.ocpp.wsprotocol import WebSocketProtocol
from tests.gateway.ocpp_peer import open_ws


async def deny(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.http.response.start", "status": 401, "headers": []})
    await send({"type": "websocket.http.response.body", "body": b"no"})


async def test_a_denied_handshake_logs_no_error(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    config = uvicorn.Config(
        deny, host="127.0.0.1", port=port, ws=WebSocketProtocol, log_config=None, lifespan="off"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.05)
        with caplog.at_level(logging.INFO, logger="uvicorn.error"), pytest.raises(InvalidStatus) as refused:
            async with open_ws(f"ws://127.0.0.1:{port}/ocpp/x", ["ocpp1.6"]):
                pass
        assert refused.value.response.status_code == 401
        await asyncio.sleep(0.2)  # the app has returned
    finally:
        server.should_exit = True
        await serving
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
