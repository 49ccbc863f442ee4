"""Fixtures of the consumer fault tests.

They share the session's Kafka and PostgreSQL but not its services: the consumers
here write into a database of their own (``energy_consumer_tests``, migrated like the
main one), so that no other consumer group can store a reading on their behalf, and
each test runs its own consumer group with offsets seeded at the topics' current end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from devstack import Stack, free_port
from energy_ingest.migrate import migrate
from energy_ingest.procs import ServiceProcess, wait_http
from tests.consumer.fleet import Fleet, log_file
from tests.consumer.ledger import Tally
from tests.consumer.load import Load, LoadStarter
from tests.support import unique

DATABASE = "energy_consumer_tests"
RESULTS = pytest.StashKey[list[Tally]]()


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def consumer_env(stack: Stack, stack_env: dict[str, str]) -> dict[str, str]:
    """The services' environment, pointed at the consumer tests' own database."""
    with psycopg.connect(stack.database_url, autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    admin_url = stack.postgres.url(DATABASE)
    migrate(admin_url)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO energy_writer, energy_retention").format(
                sql.Identifier(DATABASE)
            )
        )
    port = free_port()
    return stack_env | {
        "DATABASE_URL": admin_url,
        "CONSUMER_DATABASE_URL": _with_database(stack_env["CONSUMER_DATABASE_URL"], DATABASE),
        "RETENTION_DATABASE_URL": _with_database(stack_env["RETENTION_DATABASE_URL"], DATABASE),
        "GATEWAY_PORT": str(port),
        "GATEWAY_URL": f"http://127.0.0.1:{port}",
        "RETRY_MAX_S": "2",
        "PRODUCE_DEADLINE_S": "2",  # the gateway answers 503 sooner while Kafka is away
        "LOG_LEVEL": os.environ.get("TEST_SERVICE_LOG_LEVEL", "INFO"),
    }


@pytest.fixture(scope="session")
def gateway(consumer_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway of the consumer tests' own; yields its URL."""
    log = log_file(Path(tmp_path_factory.mktemp("gateway")))
    proc = ServiceProcess("gateway", ["gateway"], consumer_env, sink=log).start()
    try:
        wait_http(f"{consumer_env['GATEWAY_URL']}/readyz", 90, proc)
        yield consumer_env["GATEWAY_URL"]
    finally:
        proc.stop()
        log.close()


@pytest.fixture
def fleet(consumer_env: dict[str, str], tmp_path: Path) -> Iterator[Fleet]:
    """A fresh consumer group (offsets seeded at the topics' end); replicas stopped after."""
    log = log_file(tmp_path)
    group = unique("energy-ingest-grp")  # the consumer principal may use groups of this prefix
    f = Fleet(consumer_env, group, log)
    try:
        yield f
    finally:
        f.stop_all()
        log.close()
        print(f"replica output: {tmp_path / 'services.log'}")


@pytest.fixture
def start_load(gateway: str, consumer_env: dict[str, str]) -> Iterator[LoadStarter]:
    """Begins loads posting to the gateway; any still running is stopped after the test."""
    loads: list[Load] = []

    def start(prefix: str, *, devices: int, minutes: int, pace_s: float) -> Load:
        load = Load(gateway, consumer_env["INGEST_TOKEN"], prefix, devices, minutes, pace_s)
        loads.append(load.begin())
        return load

    yield start
    for load in loads:
        load.abort()


@pytest.fixture
def stack_restored(stack: Stack) -> Iterator[Stack]:
    """The shared stack, started again after the test even if the test failed."""
    try:
        yield stack
    finally:
        if not stack.postgres.is_running():
            stack.postgres.start()
        if not stack.kafka.is_running():
            stack.kafka.start()


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Iterator[list[Tally]]:
    """Rows for the fault table printed at the end of the session."""
    rows: list[Tally] = []
    yield rows
    request.config.stash.setdefault(RESULTS, []).extend(rows)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    rows = config.stash.get(RESULTS, [])
    if rows:
        terminalreporter.section("consumer fault runs")
        for row in sorted(rows, key=lambda r: r.test):
            terminalreporter.write_line(row.line())
