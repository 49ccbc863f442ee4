"""The containers backend: Kafka and PostgreSQL in Docker, through testcontainers' modules.

The images are docker-compose.yml's, and Kafka starts with that file's own script (SASL/
SCRAM only, ACLs enforced, ``admin`` the one super user, the SCRAM users formatted into
its storage at first start), so the provisioning the fixtures run next (topics, ACLs,
logins) is the same as on devstack. Each container's port is bound to a fixed host port
picked once, so ``stop()``/``kill()`` then ``start()`` keep the address and the data, as
devstack's do.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Self
from urllib.parse import quote

import psycopg
from aiokafka.admin import AIOKafkaAdminClient
from testcontainers.community.kafka import KafkaContainer
from testcontainers.community.postgres import PostgresContainer
from testcontainers.core.container import DockerContainer

from devstack import free_port
from devstack.kafka import ADMIN_USER, SASL_MECHANISM, SECURITY_PROTOCOL
from devstack.postgres import SETTINGS as DEVSTACK_PG_SETTINGS
from devstack.postgres import SUPERUSER
from tests.backends import compose
from tests.backends.compose import KAFKA_PORT, KafkaStart
from tests.backends.errors import BackendError, DockerUnreachableError
from tests.backends.probe import docker_unreachable

PG_PORT = 5432
DATABASE = "energy"
READY_TIMEOUT_S = 120.0
_READY_FLAG = "/tc-start.ready"
# The script is copied in after the container starts (its advertised port is known only
# then); the flag, written after it, tells the waiting shell that the copy is complete.
_WAIT_FOR_SCRIPT = (
    f"while [ ! -f {_READY_FLAG} ]; do sleep 0.1; done; exec bash -e {KafkaContainer.TC_START_SCRIPT}"
)


def kafka_passwords(start: KafkaStart) -> dict[str, str]:
    """A fresh password (letters and digits, as compose asks) per SCRAM user of the script."""
    return {user: secrets.token_hex(24) for user in start.users()}


def kafka_client_env(start: KafkaStart, bootstrap: str, passwords: dict[str, str]) -> dict[str, str]:
    """The variables ``devstack.KafkaBroker.env()`` gives, for the broker in the container."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_SECURITY_PROTOCOL": SECURITY_PROTOCOL,
        "KAFKA_SASL_MECHANISM": SASL_MECHANISM,
    }
    for user in start.users():
        prefix = "KAFKA_ADMIN" if user == ADMIN_USER else f"{user.upper()}_KAFKA"
        env[f"{prefix}_USERNAME"] = user
        env[f"{prefix}_PASSWORD"] = passwords[user]
    return env


def kafka_container_env(start: KafkaStart, passwords: dict[str, str]) -> dict[str, str]:
    """The container's environment: each password under the variable the script reads."""
    return {var: passwords[user] for user, var in start.users().items()}


def postgres_command() -> list[str]:
    """The server's command line: devstack's settings (``max_connections`` and the rest),
    except the listen address, which must stay the image's (every interface)."""
    argv = ["postgres"]
    for name, value in DEVSTACK_PG_SETTINGS.items():
        if name != "listen_addresses":
            argv += ["-c", f"{name}={value}"]
    return argv


class ComposeKafkaContainer(KafkaContainer):
    """testcontainers' Kafka module started with docker-compose.yml's script.

    The module's own start script is the Confluent image's; its way of starting (the
    container waits for a script copied in once the mapped port is known) is kept."""

    def __init__(
        self,
        start: KafkaStart,
        passwords: dict[str, str],
        host_port: int,
        docker_client_kw: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(start.image, port=KAFKA_PORT, docker_client_kw=docker_client_kw)
        self.env = kafka_container_env(start, passwords)  # not the module's Confluent settings
        self.compose_start = start
        self.with_bind_ports(KAFKA_PORT, host_port)
        self.with_kwargs(entrypoint=["bash", "-ec"])
        self.with_command([_WAIT_FOR_SCRIPT])

    def start(self, timeout: int = 0) -> Self:
        """Create and start the container and hand it the script; readiness is the caller's."""
        DockerContainer.start(self)
        self.tc_start()
        return self

    def tc_start(self) -> None:
        host, port = self.get_container_host_ip(), self.get_exposed_port(KAFKA_PORT)
        self.create_file(self.compose_start.script_for(host, port).encode(), self.TC_START_SCRIPT)
        self.create_file(b"", _READY_FLAG)


class ContainerKafka:
    """The Kafka container, driven like ``devstack.KafkaBroker``."""

    def __init__(
        self, start: KafkaStart | None = None, docker_client_kw: dict[str, Any] | None = None
    ) -> None:
        """``docker_client_kw`` goes to the Docker client (``{"version": ...}``: no engine asked yet)."""
        self.compose_start = start or compose.kafka_start(compose.load())
        self.passwords = kafka_passwords(self.compose_start)
        self.container = ComposeKafkaContainer(
            self.compose_start, self.passwords, free_port(), docker_client_kw
        )
        self._address: str | None = None  # host:port, known once the container runs

    @property
    def bootstrap(self) -> str:
        """``host:port`` of the listener, as the broker advertises it."""
        return _known(self._address, "Kafka")

    def env(self) -> dict[str, str]:
        """Address, SASL settings and each user's credentials (``KafkaBroker.env()``'s keys)."""
        return kafka_client_env(self.compose_start, self.bootstrap, self.passwords)

    def is_running(self) -> bool:
        return self._address is not None and _running(self.container)

    def start(self) -> None:
        """Create the container on first use, start it again later; wait for metadata."""
        if self._address is None:
            self.container.start()
            self._address = _address_of(self.container, KAFKA_PORT)
        elif not self.is_running():
            self.container.get_wrapped_container().start()
        _wait_kafka(self.container, self.env())

    def stop(self, timeout: float = 30.0) -> None:
        """``docker stop``: SIGTERM (a controlled shutdown), SIGKILL after ``timeout`` s."""
        if self.is_running():
            self.container.get_wrapped_container().stop(timeout=int(timeout))

    def kill(self) -> None:
        """SIGKILL the broker at once, as a crash would."""
        if self.is_running():
            self.container.get_wrapped_container().kill()

    def remove(self) -> None:
        """Delete the container and its data."""
        if self._address is not None:
            self.container.stop()
            self._address = None


class ContainerPostgres:
    """The PostgreSQL container (compose's image, devstack's settings), like ``PostgresServer``."""

    def __init__(
        self,
        image: str | None = None,
        database: str = DATABASE,
        docker_client_kw: dict[str, Any] | None = None,
    ) -> None:
        image = image or compose.image_of(compose.load(), compose.POSTGRES_SERVICE)
        self.database = database
        self.password = secrets.token_hex(24)
        self.container = (
            PostgresContainer(
                image,
                username=SUPERUSER,
                password=self.password,
                dbname=database,
                driver=None,
                docker_client_kw=docker_client_kw,
            )
            .with_bind_ports(PG_PORT, free_port())
            .with_command(postgres_command())
            .with_kwargs(shm_size="256m")  # Docker's 64 MB /dev/shm is short for parallel queries
        )
        self._address: str | None = None

    @property
    def database_url(self) -> str:
        return self.url(self.database)

    def url(self, database: str) -> str:
        """Superuser URL of ``database`` on this server."""
        address = _known(self._address, "PostgreSQL")
        return f"postgresql://{SUPERUSER}:{quote(self.password, safe='')}@{address}/{quote(database)}"

    def is_running(self) -> bool:
        return self._address is not None and _running(self.container)

    def start(self) -> None:
        if self._address is None:
            self.container.start()  # waits until psql answers inside the container
            self._address = _address_of(self.container, PG_PORT)
        elif not self.is_running():
            self.container.get_wrapped_container().start()
        _wait_postgres(self.url("postgres"))

    def stop(self, timeout: float = 30.0) -> None:
        """``docker stop``: the image's stop signal (SIGINT, a fast shutdown)."""
        if self.is_running():
            self.container.get_wrapped_container().stop(timeout=int(timeout))

    def kill(self) -> None:
        if self.is_running():
            self.container.get_wrapped_container().kill()

    def remove(self) -> None:
        if self._address is not None:
            self.container.stop()
            self._address = None


class ContainerStack:
    """Kafka and PostgreSQL containers for a test session (a ``ServiceStack``)."""

    def __init__(self) -> None:
        services = compose.load()
        self.kafka = ContainerKafka(compose.kafka_start(services))
        self.postgres = ContainerPostgres(compose.image_of(services, compose.POSTGRES_SERVICE))

    @property
    def database_url(self) -> str:
        return self.postgres.database_url

    def kafka_env(self) -> dict[str, str]:
        return self.kafka.env()

    def start(self) -> None:
        """Start both in parallel; if either fails, remove both and raise."""
        _require_docker()
        with ThreadPoolExecutor(2, thread_name_prefix="containers") as pool:
            futures = [pool.submit(self.kafka.start), pool.submit(self.postgres.start)]
            errors = [e for e in (f.exception() for f in futures) if e is not None]
        if errors:
            self.stop()
            raise errors[0]

    def stop(self) -> None:
        """Remove both containers (the session is over)."""
        self.kafka.remove()
        self.postgres.remove()


@contextlib.contextmanager
def postgres_container() -> Iterator[str]:
    """A fresh PostgreSQL container; yields a superuser URL of its ``postgres`` database."""
    _require_docker()
    server = ContainerPostgres(database="postgres")
    try:
        server.start()
        yield server.database_url
    finally:
        server.remove()


def _require_docker() -> None:
    why = docker_unreachable()
    if why is not None:
        raise DockerUnreachableError(why)


def _address_of(container: DockerContainer, port: int) -> str:
    """Where the tests reach ``port`` of the running container (its host port is bound)."""
    return f"{container.get_container_host_ip()}:{container.get_exposed_port(port)}"


def _known(address: str | None, service: str) -> str:
    if address is None:
        raise BackendError(f"the {service} container has not been started")
    return address


def _running(container: DockerContainer) -> bool:
    wrapped = container.get_wrapped_container()
    wrapped.reload()
    return bool(wrapped.status == "running")


def _wait_postgres(url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            with psycopg.connect(url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
                return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                why = f"no answer in {READY_TIMEOUT_S:.0f} s ({exc})"
                raise BackendError(f"PostgreSQL container: {why}") from exc
        time.sleep(0.2)


def _wait_kafka(container: DockerContainer, env: dict[str, str]) -> None:
    """Until the admin gets metadata and the group coordinator answers (as devstack waits)."""
    kwargs = {
        "bootstrap_servers": env["KAFKA_BOOTSTRAP_SERVERS"],
        "security_protocol": SECURITY_PROTOCOL,
        "sasl_mechanism": SASL_MECHANISM,
        "sasl_plain_username": env["KAFKA_ADMIN_USERNAME"],
        "sasl_plain_password": env["KAFKA_ADMIN_PASSWORD"],
    }
    deadline = time.monotonic() + READY_TIMEOUT_S
    with ThreadPoolExecutor(1, thread_name_prefix="kafka-probe") as pool:  # callers may run a loop
        while True:
            error = pool.submit(asyncio.run, _kafka_answers(kwargs)).result()
            if error is None:
                return
            if not _running(container):
                out, err = container.get_logs()
                raise BackendError(f"the Kafka container exited:\n{(out + err).decode()[-3000:]}")
            if time.monotonic() > deadline:
                raise BackendError(f"Kafka container: no metadata in {READY_TIMEOUT_S:.0f} s ({error})")
            time.sleep(0.5)


async def _kafka_answers(kwargs: dict[str, Any]) -> str | None:
    admin = AIOKafkaAdminClient(**kwargs, request_timeout_ms=5000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        await admin.list_consumer_groups()  # fails while the coordinator still loads
    except Exception as exc:  # any failure only means "not ready yet"
        return f"{type(exc).__name__}: {exc}"
    finally:
        await admin.close()
    return None if cluster.get("brokers") else "metadata lists no broker"
