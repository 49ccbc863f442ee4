"""Session fixtures: a real Kafka broker and a real PostgreSQL, started once, and the
services (gateway, consumer, analytics API) run as real processes against them.

Kafka and PostgreSQL come from devstack or, with ``TEST_BACKEND=containers`` (or Docker
and no Java or Maven), from Docker containers: see tests/backends."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import Stack, free_port
from energy_ingest.procs import wait_http
from energy_ingest.provision import provision
from tests.backends.errors import BackendError
from tests.backends.probe import session_choice
from tests.backends.stack import ServiceStack
from tests.support import Services

pytest_plugins = ["tests.ci_skips", "pytester"]


def pytest_report_header() -> str:
    try:
        choice = session_choice()
    except BackendError as exc:  # raised again by the first fixture that needs a stack
        return f"test backend: none ({exc})"
    return f"test backend: {choice.backend} ({choice.reason})"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceStack]:
    """Kafka + PostgreSQL for the whole test session."""
    if session_choice().backend == "containers":
        from tests.backends.containers import ContainerStack

        containers = ContainerStack()
        containers.start()
        try:
            yield containers
        finally:
            containers.stop()
        return
    data = Path(tmp_path_factory.mktemp("devstack"))
    kafka_port = free_port()
    st = Stack(data_dir=data, kafka_port=kafka_port, kafka_controller_port=free_port(), pg_port=free_port())
    st.start()
    try:
        yield st
    finally:
        st.stop()


@pytest.fixture(scope="session")
def stack_env(stack: ServiceStack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Migrated database, logins, topics and tokens: the services' environment."""
    secrets = Path(tmp_path_factory.mktemp("secrets")) / "secrets.json"
    env = provision(stack.database_url, stack.kafka_env(), secrets, partitions=6)
    gw, an = free_port(), free_port()
    return env | {
        "GATEWAY_PORT": str(gw),
        "ANALYTICS_PORT": str(an),
        "GATEWAY_URL": f"http://127.0.0.1:{gw}",
        "ANALYTICS_URL": f"http://127.0.0.1:{an}",
        "BATCH_MAX_WAIT_MS": "100",
        "KAFKA_SESSION_TIMEOUT_MS": "6000",
        "KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
        "LOG_LEVEL": os.environ.get("TEST_SERVICE_LOG_LEVEL", "WARNING"),
    }


@pytest.fixture(scope="session")
def services(stack_env: dict[str, str]) -> Iterator[Services]:
    """Gateway, one consumer and the analytics API, running until the session ends."""
    log = open(os.devnull, "w") if not os.environ.get("TEST_SERVICE_OUTPUT") else None  # noqa: SIM115
    svc = Services(stack_env, sink=log)
    gateway = svc.start("gateway", ["gateway"])
    analytics = svc.start("analytics", ["analytics"])
    svc.start_consumer("consumer-1")
    wait_http(f"{stack_env['GATEWAY_URL']}/readyz", 90, gateway)
    wait_http(f"{stack_env['ANALYTICS_URL']}/healthz", 60, analytics)
    try:
        yield svc
    finally:
        svc.stop_all()
        if log is not None:
            log.close()
