"""Gateway processes for the gateway tests, on the session's Kafka and PostgreSQL.

Each fixture starts a real gateway (``energy-ingest gateway``) with its own port and
limits; the session fixtures ``stack`` and ``stack_env`` come from tests/conftest.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import IO

import pytest

from devstack import free_port
from energy_ingest.procs import ServiceProcess, wait_http
from tests.gateway.helpers import Gateway

# Small limits keep the 413 tests cheap; the default 8 MiB / 10,000 work the same way.
MAX_RECORDS = 50
MAX_BODY_BYTES = 32 * 1024
PRODUCE_DEADLINE_S = 2.0
RETRY_AFTER_S = 3


def _sink() -> IO[str] | None:
    return None if os.environ.get("TEST_SERVICE_OUTPUT") else open(os.devnull, "w")


def start_gateway(name: str, stack_env: dict[str, str], **extra: str) -> Iterator[Gateway]:
    """Run a gateway until the generator is closed."""
    port = free_port()
    env = (
        stack_env
        | {
            "GATEWAY_PORT": str(port),
            "MAX_RECORDS": str(MAX_RECORDS),
            "MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            "PRODUCE_DEADLINE_S": str(PRODUCE_DEADLINE_S),
            "RETRY_AFTER_S": str(RETRY_AFTER_S),
        }
        | extra
    )
    sink = _sink()
    proc = ServiceProcess(name, ["gateway"], env, sink=sink).start()
    try:
        wait_http(f"http://127.0.0.1:{port}/readyz", 90, proc)
        yield Gateway(proc, f"http://127.0.0.1:{port}", env)
    finally:
        proc.stop()
        if sink is not None:
            sink.close()


@pytest.fixture(scope="session")
def gateway(stack_env: dict[str, str]) -> Iterator[Gateway]:
    """The gateway most tests share (default rate limits, small size limits)."""
    yield from start_gateway("gateway-t", stack_env)


@pytest.fixture(scope="module")
def limited_gateway(stack_env: dict[str, str]) -> Iterator[Gateway]:
    """A gateway with a tiny per-device bucket: 3 readings, refilled at one per 5 s."""
    yield from start_gateway("gateway-rl", stack_env, RATE_PER_DEVICE="0.2", BURST_PER_DEVICE="3")


@pytest.fixture
def consumer(stack_env: dict[str, str]) -> Iterator[ServiceProcess]:
    """One consumer worker (Kafka → PostgreSQL) for the duration of a test."""
    sink = _sink()
    proc = ServiceProcess(
        "consumer-gw", ["consumer"], stack_env | {"CONSUMER_INSTANCE_ID": "consumer-gw"}, sink=sink
    ).start()
    try:
        yield proc
    finally:
        proc.stop()
        if sink is not None:
            sink.close()
