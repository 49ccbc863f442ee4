"""CPU per ``POST /v1/ingest`` inside the gateway's ASGI app, with Kafka stubbed.

``python -m bench.gateway`` measures the gateway process with a real broker and a load
process, so its CPU per request moves by about 5 % between runs on a shared machine; a
change of a few microseconds in the app's own code cannot be seen there. This calls the
app (the same middleware, authentication, validation, rate limit and record encoding)
with one-reading bodies in a loop, in one process, with no server, no socket and a
publisher that returns at once, and prints the CPU microseconds per request (the best
and the median of five rounds). It needs no Kafka.

    .venv/bin/python -m bench.gateway_app              # 5 rounds of 5,000 requests
    .venv/bin/python -m bench.gateway_app --through-publisher   # + the publisher's own work
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import time
from typing import Any

from starlette.types import ASGIApp, Message

from bench.gateway import request_bodies
from common.tokens import Scope, issue
from ingest_gateway.app import create_app
from ingest_gateway.enqueue import Record
from ingest_gateway.publisher import Publisher
from ingest_gateway.settings import GatewaySettings


class NoKafka(Publisher):
    """A publisher that acknowledges at once (what is left is the app's own work)."""

    async def publish_records(self, records: list[Record], received_ms: int) -> None:
        return None


class _Cluster:
    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(12))


class _Client:
    cluster = _Cluster()


class AckingProducer:
    """Stands in for aiokafka's producer: every record acknowledged as soon as it is sent."""

    client = _Client()

    async def send(self, topic: str, value: bytes, key: bytes, **_: Any) -> asyncio.Future[None]:
        acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acked.set_result(None)
        return acked


def stub_publisher(settings: GatewaySettings, through_publisher: bool) -> Publisher:
    """:class:`NoKafka`, or the real publisher (deadline, in-flight budget, routing, the
    acknowledgement's bookkeeping) in front of :class:`AckingProducer`."""
    if not through_publisher:
        return NoKafka(settings)
    publisher = Publisher(settings)
    publisher._producer = AckingProducer()  # what its connection keeper would have set
    return publisher


async def _post(app: ASGIApp, headers: list[tuple[bytes, bytes]], body: bytes, sent: list[Message]) -> None:
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000), "scheme": "http", "method": "POST",
        "root_path": "", "path": "/v1/ingest", "raw_path": b"/v1/ingest", "query_string": b"",
        "headers": headers, "state": {},
    }  # fmt: skip

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)


async def measure(requests: int, rounds: int, through_publisher: bool = False) -> list[float]:
    """CPU microseconds per request of each round (after a warm-up)."""
    secret = secrets.token_urlsafe(32)
    os.environ["AUTH_SECRET"] = secret
    settings = GatewaySettings()
    app = create_app(settings, stub_publisher(settings, through_publisher))
    token = issue(secret, Scope.FLEET, "bench")
    # The headers aiohttp sends (bench.gateway's load process).
    headers = [
        (b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"application/json"), (b"accept", b"*/*"),
        (b"accept-encoding", b"gzip, deflate"), (b"user-agent", b"Python/3.11 aiohttp/3.9"),
        (b"content-length", b"100"),
    ]  # fmt: skip
    pool = request_bodies(1, 4000, 20_000)  # single readings, as bench.gateway posts them
    sent: list[Message] = []
    for i in range(2000):
        await _post(app, headers, pool[i % len(pool)], sent)
    per_round = []
    for _ in range(rounds):
        sent.clear()
        started = time.process_time()
        for i in range(requests):
            await _post(app, headers, pool[i % len(pool)], sent)
        per_round.append((time.process_time() - started) / requests * 1e6)
        statuses = {m["status"] for m in sent if m["type"] == "http.response.start"}
        if statuses != {202}:
            raise RuntimeError(f"answers other than 202: {statuses}")
    return per_round


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=5000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--through-publisher",
        action="store_true",
        help="keep the publisher's own work; only the Kafka producer is stubbed",
    )
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:  # the service's loop; plain asyncio measures a little more
        rounds = asyncio.run(measure(args.requests, args.rounds, args.through_publisher))
    else:
        rounds = uvloop.run(measure(args.requests, args.rounds, args.through_publisher))
    rounds.sort()
    stub = "the producer" if args.through_publisher else "Kafka"
    print(
        f"gateway app, one reading per request, {stub} stubbed: {rounds[0]:.1f} us CPU per request "
        f"(best of {args.rounds}), median {rounds[len(rounds) // 2]:.1f} us"
    )


if __name__ == "__main__":
    main()
