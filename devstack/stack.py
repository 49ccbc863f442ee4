"""The local stack: one Kafka broker and one PostgreSQL server, started side by side."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from devstack._process import say
from devstack.errors import DevstackError
from devstack.kafka import KafkaBroker
from devstack.kafka_cluster import NODES, KafkaCluster
from devstack.postgres import PostgresServer

SERVICE_USERS = ("gateway", "consumer")
"""Kafka SCRAM users made for the services besides ``admin``; their ACLs are the app's job."""

_handed_out: set[int] = set()
_handed_out_lock = threading.Lock()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now and not handed out before by this process."""
    with _handed_out_lock:
        while True:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind(("127.0.0.1", 0))
                port: int = probe.getsockname()[1]
            if port not in _handed_out:
                _handed_out.add(port)
                return port


@dataclass
class Stack:
    """Kafka and PostgreSQL with their data in ``data_dir/kafka`` and ``data_dir/postgres``.

    Ports left at 0 are picked with ``free_port()`` once, at construction, so a
    restart keeps them. Use as a context manager, or call ``start()``/``stop()``.

    ``kafka_brokers=3``: a three-node KRaft cluster (``cluster``, data in
    ``data_dir/kafka-cluster``) instead of the one broker (``kafka``); node ``i`` (0-based)
    listens on ``kafka_port + 2i`` and its controller on ``kafka_controller_port + 2i``
    when those are given, on free ports otherwise.
    """

    data_dir: Path
    kafka_port: int = 0
    kafka_controller_port: int = 0
    pg_port: int = 0
    database: str = "energy"
    pg_replication: bool = False  # WAL for a streaming standby (make run PG_REPLICA=1)
    kafka_brokers: int = 1  # 1, or 3 for a replicated cluster (make run KAFKA_BROKERS=3)
    _kafka: KafkaBroker | KafkaCluster = field(init=False, repr=False)
    postgres: PostgresServer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).absolute()
        cluster_ports: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())
        if self.kafka_brokers == NODES:
            cluster_ports = _ports(self.kafka_port), _ports(self.kafka_controller_port)
            self.kafka_port, self.kafka_controller_port = cluster_ports[0][0], cluster_ports[1][0]
        self.kafka_port = self.kafka_port or free_port()
        self.kafka_controller_port = self.kafka_controller_port or free_port()
        self.pg_port = self.pg_port or free_port()
        if self.kafka_brokers == 1:
            self._kafka = KafkaBroker(
                self.data_dir / "kafka", self.kafka_port, self.kafka_controller_port, users=SERVICE_USERS
            )
        elif self.kafka_brokers == NODES:
            self._kafka = KafkaCluster(
                self.data_dir / "kafka-cluster",
                *cluster_ports,
                users=SERVICE_USERS,
            )
        else:
            raise DevstackError(f"kafka_brokers must be 1 or {NODES}, not {self.kafka_brokers}")
        self.postgres = PostgresServer(
            self.data_dir / "postgres", self.pg_port, database=self.database, replication=self.pg_replication
        )

    @property
    def kafka(self) -> KafkaBroker:
        """The one Kafka broker (``kafka_brokers=1``)."""
        if not isinstance(self._kafka, KafkaBroker):
            raise DevstackError("this stack runs a Kafka cluster: use stack.cluster")
        return self._kafka

    @property
    def cluster(self) -> KafkaCluster:
        """The Kafka cluster (``kafka_brokers=3``)."""
        if not isinstance(self._kafka, KafkaCluster):
            raise DevstackError("this stack runs one Kafka broker: use stack.kafka")
        return self._kafka

    @property
    def database_url(self) -> str:
        """Superuser URL of the application database, e.g. postgresql://postgres:…/energy."""
        return self.postgres.database_url

    @property
    def kafka_bootstrap(self) -> str:
        """Kafka bootstrap servers, ``127.0.0.1:<port>`` (comma-separated for a cluster)."""
        return self._kafka.bootstrap

    def kafka_env(self) -> dict[str, str]:
        """Kafka's address, SASL settings and users (``KafkaBroker.env()``); valid once started."""
        return self._kafka.env()

    def env(self) -> dict[str, str]:
        """The variables other processes use to find the stack (they hold passwords)."""
        return {"DATABASE_URL": self.database_url, **self.kafka_env()}

    def start(self) -> None:
        """Start both services in parallel; if either fails, stop the other and raise."""
        self._both("ready", self._kafka.start, self.postgres.start, on_error=self.stop)

    def stop(self) -> None:
        """Shut both services down cleanly (in parallel); safe to call twice."""
        self._both("stopped", self._kafka.stop, self.postgres.stop, on_error=None)

    def restart(self) -> None:
        """Stop and start both, keeping ports and data."""
        self.stop()
        self.start()

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _both(
        self,
        what: str,
        kafka_step: Callable[[], None],
        postgres_step: Callable[[], None],
        on_error: Callable[[], None] | None,
    ) -> None:
        started = time.monotonic()
        with ThreadPoolExecutor(2, thread_name_prefix="devstack") as pool:
            futures = [
                pool.submit(_timed, "kafka", what, kafka_step),
                pool.submit(_timed, "postgres", what, postgres_step),
            ]
            try:
                errors = [error for error in map(_error_of, futures) if error]
            except BaseException:  # Ctrl-C while waiting: make the other thread give up too
                if on_error is not None:
                    on_error()
                raise
        if errors:
            if on_error is not None:
                on_error()
            raise errors[0]
        say(f"stack {what} in {time.monotonic() - started:.1f} s")


def _ports(first: int) -> tuple[int, ...]:
    """A cluster's ports: every other one from ``first``, or free ones when it is 0."""
    return tuple(first + 2 * i if first else free_port() for i in range(NODES))


def _timed(name: str, what: str, step: Callable[[], None]) -> None:
    started = time.monotonic()
    step()
    say(f"{name} {what} in {time.monotonic() - started:.1f} s")


def _error_of(future: Future[None]) -> BaseException | None:
    return future.exception()
