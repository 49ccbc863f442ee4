"""Fixtures of the cluster fault tests: a three-node Kafka cluster and a PostgreSQL of their
own (one ``Stack(kafka_brokers=3)`` for this folder), provisioned like the session's stack
(topics with three replicas and ``min.insync.replicas=2``, logins, ACLs, tokens), a
gateway, consumer groups seeded at the topics' end, and loads that note their ack times.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import Stack, free_port
from devstack.kafka_cluster import KafkaCluster
from energy_ingest.procs import ServiceProcess, wait_http
from energy_ingest.provision import provision
from tests.cluster.support import ClusterRow, TimedLoad
from tests.consumer.fleet import Fleet, log_file
from tests.consumer.ledger import until
from tests.support import unique

RESULTS = pytest.StashKey[list[ClusterRow]]()
PATIENT_DEADLINE_S = 10  # under the load's 15 s client timeout; longer than a leader election


@pytest.fixture(scope="package")
def cluster_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Three Kafka nodes and a PostgreSQL for the tests of this folder."""
    st = Stack(data_dir=Path(tmp_path_factory.mktemp("cluster")), kafka_brokers=3)
    st.start()
    try:
        yield st
    finally:
        st.stop()


@pytest.fixture(scope="package")
def cluster_env(cluster_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The services' environment on the cluster."""
    secrets = Path(tmp_path_factory.mktemp("cluster-secrets")) / "secrets.json"
    env = provision(cluster_stack.database_url, cluster_stack.kafka_env(), secrets, partitions=6)
    return env | {
        "BATCH_MAX_WAIT_MS": "100",
        "KAFKA_SESSION_TIMEOUT_MS": "6000",
        "KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
        "RETRY_MAX_S": "2",
        "PRODUCE_DEADLINE_S": str(PATIENT_DEADLINE_S),
        "LOG_LEVEL": os.environ.get("TEST_SERVICE_LOG_LEVEL", "INFO"),
    }


def run_gateway(env: dict[str, str], directory: Path, **extra: str) -> Iterator[str]:
    """A gateway process on a free port until the generator is closed; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = env | {"GATEWAY_PORT": str(port), "GATEWAY_URL": url, **extra}
    log = log_file(directory)
    proc = ServiceProcess("gateway", ["gateway"], env, sink=log).start()
    try:
        wait_http(f"{url}/readyz", 90, proc)
        yield url
    finally:
        proc.stop()
        log.close()


@pytest.fixture(scope="package")
def gateway(cluster_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway whose produce deadline outlasts a leader election: a failover delays
    acknowledgements instead of turning them into 503s and re-posts."""
    yield from run_gateway(cluster_env, Path(tmp_path_factory.mktemp("gateway")))


@pytest.fixture
def cluster(cluster_stack: Stack) -> Iterator[KafkaCluster]:
    """The cluster; after the test every node runs again and every partition is in sync."""
    kafka = cluster_stack.cluster
    try:
        yield kafka
    finally:
        kafka.start()
        until(lambda: not kafka.under_replicated(), 90, "every partition back in sync")


@pytest.fixture
def fleet(cluster_env: dict[str, str], tmp_path: Path) -> Iterator[Fleet]:
    """A fresh consumer group (offsets seeded at the topics' end); replicas stopped after."""
    log = log_file(tmp_path)
    f = Fleet(cluster_env, unique("energy-ingest-cl"), log)
    try:
        yield f
    finally:
        f.stop_all()
        log.close()
        print(f"replica output: {tmp_path / 'services.log'}")


@pytest.fixture
def loads() -> Iterator[list[TimedLoad]]:
    """Loads begun by the test; any still running is stopped after it."""
    begun: list[TimedLoad] = []
    yield begun
    for load in begun:
        load.abort()


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Iterator[list[ClusterRow]]:
    """Rows for the cluster fault table printed at the end of the session."""
    rows: list[ClusterRow] = []
    yield rows
    request.config.stash.setdefault(RESULTS, []).extend(rows)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    rows = config.stash.get(RESULTS, [])
    if rows:
        terminalreporter.section("cluster fault runs")
        for row in rows:
            terminalreporter.write_line(row.line())
