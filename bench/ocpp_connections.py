"""How many OCPP charge points one gateway process holds, and its memory per connection.

Starts one gateway process (``energy-ingest gateway``, one uvicorn worker) on a free port,
with token keys of its own and no Kafka (heartbeats need none; the producer keeps retrying
in the background), then opens ``--connections`` OCPP 1.6 WebSockets with charger tokens
(``--batch`` handshakes at a time) and keeps them open for ``--hold-s``, each sending a
Heartbeat every ``--heartbeat-s`` (first one at a random offset). It reports the gateway's
resident memory (``VmRSS``) before the first connection and with all of them open, the
difference per connection, the gateway's own count of connected charge points
(``gateway_ocpp_connected``), the heartbeats answered and missed, the handshake rate and
the gateway's CPU while holding. The clients run on the same cores.

    .venv/bin/python -m bench.ocpp_connections --connections 10000
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import secrets
import sys
import time
from dataclasses import dataclass

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.memory import status_kb
from common.tokens import Scope, issue
from devstack import free_port
from energy_ingest.procs import ServiceProcess, wait_http


@dataclass
class Tally:
    opened: int = 0
    refused: int = 0
    answered: int = 0
    missed: int = 0


def _cpu_s(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _connected(url: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line.startswith("gateway_ocpp_connected "):
            return float(line.split()[1])
    return float("nan")


async def _open(url: str, cp: str, secret: str, tally: Tally) -> ClientConnection | None:
    token = issue(secret, Scope.CHARGER, cp)
    auth = "Basic " + base64.b64encode(f"{cp}:{token}".encode()).decode()
    try:
        ws = await connect(
            f"{url}/ocpp/{cp}",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers={"Authorization": auth},
            proxy=None,
            compression=None,
            ping_interval=None,
            open_timeout=60,
        )
    except (OSError, TimeoutError, Exception):  # a refused or failed handshake is counted, not fatal
        tally.refused += 1
        return None
    tally.opened += 1
    return ws


async def _heartbeats(ws: ClientConnection, every_s: float, until: float, tally: Tally) -> None:
    await asyncio.sleep(random.uniform(0, every_s))  # noqa: S311
    n = 0
    while time.monotonic() < until:
        n += 1
        try:
            await ws.send(f'[2,"h{n}","Heartbeat",{{}}]')
            async with asyncio.timeout(30):
                answer = await ws.recv()
            tally.answered += str(answer).startswith("[3,")
        except Exception:  # a dropped connection shows as a missed heartbeat
            tally.missed += 1
            return
        await asyncio.sleep(every_s)


async def _run(args: argparse.Namespace, url: str, secret: str, pid: int) -> dict[str, float]:
    tally = Tally()
    base_kb = status_kb(pid, "VmRSS") or 0
    ws_url = url.replace("http", "ws", 1)
    started = time.monotonic()
    sockets: list[ClientConnection] = []
    for first in range(0, args.connections, args.batch):
        ids = [f"bench-cp-{i}" for i in range(first, min(first + args.batch, args.connections))]
        opened = await asyncio.gather(*(_open(ws_url, cp, secret, tally) for cp in ids))
        sockets += [ws for ws in opened if ws is not None]
    open_s = time.monotonic() - started
    cpu0 = _cpu_s(pid)
    until = time.monotonic() + args.hold_s
    tasks = [asyncio.create_task(_heartbeats(ws, args.heartbeat_s, until, tally)) for ws in sockets]
    await asyncio.sleep(args.hold_s)
    held_kb = status_kb(pid, "VmRSS") or 0
    connected = await asyncio.to_thread(_connected, url)
    cpu = _cpu_s(pid) - cpu0
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {
        "connections": args.connections,
        "opened": tally.opened,
        "refused": tally.refused,
        "connected (gateway's gauge)": connected,
        "handshakes/s": tally.opened / open_s if open_s else 0.0,
        "heartbeats answered": tally.answered,
        "heartbeats missed": tally.missed,
        "gateway RSS before (MiB)": base_kb / 1024,
        "gateway RSS held (MiB)": held_kb / 1024,
        "KiB per connection": (held_kb - base_kb) / max(1, tally.opened),
        "gateway CPU while holding (%)": 100 * cpu / args.hold_s,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ocpp_connections", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=200, help="handshakes in flight (default %(default)s)")
    parser.add_argument(
        "--heartbeat-s", type=float, default=30.0, help="per connection (default %(default)s)"
    )
    parser.add_argument(
        "--hold-s", type=float, default=60.0, help="all open for this long (default %(default)s)"
    )
    args = parser.parse_args()
    secret, port = secrets.token_urlsafe(32), free_port()
    env = {
        "AUTH_SECRET": secret,
        "GATEWAY_PORT": str(port),
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",  # nothing listens: no Kafka needed
        "OCPP_MAX_CONNECTIONS": str(args.connections + 10),
        "LOG_LEVEL": "ERROR",
    }
    with open(os.devnull, "w") as sink:
        gateway = ServiceProcess("gateway-ocpp-bench", ["gateway"], env, sink=sink).start()
        try:
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/healthz", 60, gateway)
            time.sleep(2)  # let the process settle before the baseline
            result = asyncio.run(_run(args, url, secret, gateway.pid))
        finally:
            gateway.stop()
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value:,.1f}" if isinstance(value, float) else f"{key:<{width}}  {value:,}")
    return 0 if result["refused"] == 0 and result["heartbeats missed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
