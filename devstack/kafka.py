"""A real single-node Apache Kafka broker (KRaft, broker+controller in one JVM)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from devstack._process import ManagedProcess
from devstack.errors import DevstackError
from devstack.kafka_jars import LOG4J2_CONFIG, java_executable, kafka_libs

JVM_HEAP = ("-Xms256m", "-Xmx512m")
CLUSTER_NODE_HEAP = ("-Xms128m", "-Xmx256m")
"""Each node of a three-node cluster: three JVMs share a small machine."""
SASL_MECHANISM = "SCRAM-SHA-512"
SECURITY_PROTOCOL = "SASL_PLAINTEXT"
ADMIN_USER = "admin"
"""The SCRAM user that is a Kafka super user: it creates topics and grants ACLs."""


@dataclass(frozen=True, slots=True)
class Quorum:
    """A KRaft quorum of several combined nodes: one cluster id, and each voter's node id,
    controller port and metadata directory id (the same on every node, as Kafka wants for
    ``kafka-storage format --initial-controllers``)."""

    cluster_id: str
    voters: tuple[tuple[int, int, str], ...]  # (node id, controller port, directory id)

    @property
    def bootstrap_servers(self) -> str:
        """``controller.quorum.bootstrap.servers``: every controller's endpoint."""
        return ",".join(f"127.0.0.1:{port}" for _, port, _ in self.voters)

    @property
    def initial_controllers(self) -> str:
        """``--initial-controllers``: ``id@host:port:directory-id`` of each voter."""
        return ",".join(f"{node}@127.0.0.1:{port}:{directory}" for node, port, directory in self.voters)


class KafkaBroker:
    """One Kafka broker whose config, logs and data all live in ``data_dir``.

    ``start()`` resolves the jars (cached), formats the storage on first use, starts
    the JVM and returns once a real client gets cluster metadata back. ``stop()``,
    ``kill()`` and ``restart()`` keep the ports and the data.

    Clients must authenticate with SASL/SCRAM-SHA-512 (``SASL_PLAINTEXT``) and are
    authorized by ACLs (``StandardAuthorizer``): only ``admin`` is a super user. The
    SCRAM users (``admin`` plus ``users``) get random passwords on first start, kept in
    ``credentials.json`` (mode 0600) and written into the storage when it is formatted,
    so they survive restarts and kills like the data. The KRaft controller listener is
    on loopback and takes only ``admin`` (SASL/PLAIN; see ``server_properties``).
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        controller_port: int,
        *,
        cache_dir: Path | None = None,
        startup_timeout: float = 90.0,
        users: tuple[str, ...] = (),
        node_id: int = 1,
        quorum: Quorum | None = None,
        credentials_file: Path | None = None,
        heap: tuple[str, ...] = JVM_HEAP,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.controller_port = controller_port
        self.cache_dir = cache_dir
        self.startup_timeout = startup_timeout
        self.users = (ADMIN_USER, *(u for u in users if u != ADMIN_USER))
        self.node_id = node_id
        self.quorum = quorum  # None: a single-voter ("standalone") quorum of this node alone
        self.heap = heap
        self._credentials_file = credentials_file
        name = "kafka" if quorum is None else f"kafka-{node_id}"
        self._process = ManagedProcess(name, self.data_dir / "kafka.pid", signal.SIGTERM)

    @property
    def bootstrap(self) -> str:
        """The ``host:port`` clients bootstrap from."""
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        """The broker's console output (warnings and start/stop lines)."""
        return self.data_dir / "broker.log"

    @property
    def pid(self) -> int | None:
        """The JVM's pid while it runs."""
        return self._process.pid

    @property
    def credentials_file(self) -> Path:
        """``{"user": "password", ...}`` of every SCRAM user, mode 0600 (a cluster's nodes share one)."""
        return self._credentials_file or self.data_dir / "credentials.json"

    def password(self, user: str) -> str:
        """The SCRAM password of ``user`` (one of ``users``), created with the storage."""
        passwords: dict[str, str] = json.loads(self.credentials_file.read_text())
        return passwords[user]

    def client_kwargs(self, user: str = ADMIN_USER) -> dict[str, Any]:
        """aiokafka keyword arguments to connect as ``user``, bootstrap included."""
        return {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": SECURITY_PROTOCOL,
            "sasl_mechanism": SASL_MECHANISM,
            "sasl_plain_username": user,
            "sasl_plain_password": self.password(user),
        }

    def env(self) -> dict[str, str]:
        """Where the broker is and how to authenticate: ``KAFKA_BOOTSTRAP_SERVERS``,
        ``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_MECHANISM``, the admin principal
        (``KAFKA_ADMIN_USERNAME``/``_PASSWORD``) and each other user's own
        (``<USER>_KAFKA_USERNAME``/``_PASSWORD``, e.g. ``GATEWAY_KAFKA_PASSWORD``)."""
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "KAFKA_SECURITY_PROTOCOL": SECURITY_PROTOCOL,
            "KAFKA_SASL_MECHANISM": SASL_MECHANISM,
            "KAFKA_ADMIN_USERNAME": ADMIN_USER,
            "KAFKA_ADMIN_PASSWORD": self.password(ADMIN_USER),
        }
        for user in self.users[1:]:
            env[f"{user.upper()}_KAFKA_USERNAME"] = user
            env[f"{user.upper()}_KAFKA_PASSWORD"] = self.password(user)
        return env

    def is_running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process.running()

    def ensure_credentials(self) -> dict[str, str]:
        """The SCRAM users' passwords, made (and saved) for a storage not formatted yet."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        formatted = (self.data_dir / "data" / "meta.properties").exists()
        if formatted and not self.credentials_file.exists():
            raise DevstackError(
                f"the Kafka storage in {self.data_dir} was formatted before SASL was on and has "
                f"no users: remove {self.data_dir.parent} (Kafka and PostgreSQL data) to start afresh"
            )
        return self._passwords(formatted)

    def start(self) -> None:
        """Provision, start and wait until the broker serves metadata."""
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Provision and start the JVM without waiting for it (a cluster's nodes start together)."""
        if self.is_running():
            return
        java = java_executable()
        libs = kafka_libs(self.cache_dir)
        formatted = (self.data_dir / "data" / "meta.properties").exists()
        passwords = self.ensure_credentials()
        config = self._write_config(passwords[ADMIN_USER])
        classpath = f"{libs}/*"
        if not formatted:
            self._format(java, classpath, config, passwords)
        self._process.spawn(
            [java, *self.heap, *self._jvm_flags(), "-cp", classpath, "kafka.Kafka", str(config)],
            log=self.log_file,
            cwd=self.data_dir,
            ports=(self.port, self.controller_port),
        )

    def stop(self, timeout: float = 30.0) -> None:
        """Controlled shutdown (SIGTERM), SIGKILL if it takes over ``timeout`` s."""
        self._process.stop(timeout)

    def kill(self) -> None:
        """SIGKILL the broker at once, as a crash would."""
        self._process.kill()

    def restart(self) -> None:
        """Stop and start again on the same ports with the same data."""
        self.stop()
        self.start()

    def _jvm_flags(self) -> list[str]:
        return [
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J2_CONFIG}",
            f"-Dkafka.logs.dir={self.data_dir / 'logs'}",
        ]

    def _passwords(self, formatted: bool) -> dict[str, str]:
        """The users' passwords; before formatting, users missing from the file get one."""
        path = self.credentials_file
        known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        missing = [user for user in self.users if user not in known]
        if formatted and missing:
            raise DevstackError(
                f"the Kafka storage in {self.data_dir} has no SCRAM user {', '.join(missing)} "
                f"(users are made when it is formatted): remove {self.data_dir.parent} to start afresh"
            )
        wanted = {user: known.get(user) or secrets.token_urlsafe(24) for user in self.users}
        if wanted != known:
            _write_private(path, json.dumps(wanted, indent=1) + "\n")
        return wanted

    def _write_config(self, admin_password: str) -> Path:
        config = self.data_dir / "server.properties"
        text = server_properties(
            self.data_dir / "data",
            self.port,
            self.controller_port,
            admin_password,
            node_id=self.node_id,
            quorum=self.quorum,
        )
        _write_private(config, text)  # it holds the admin's password
        return config

    def _format(self, java: str, classpath: str, config: Path, passwords: dict[str, str]) -> None:
        """Format the KRaft storage once with the users: a single-voter ("standalone") quorum,
        or the cluster's voters (``--initial-controllers``, the same on every node)."""
        scram = [
            arg
            for user, password in passwords.items()
            for arg in ("--add-scram", f"{SASL_MECHANISM}=[name={user},password={password}]")
        ]
        argv = [
            java, "-Xmx256m", *self._jvm_flags(), "-cp", classpath, "kafka.tools.StorageTool",
            "format", *self._quorum_args(), "-c", str(config), *scram,
        ]  # fmt: skip
        result = subprocess.run(
            argv, capture_output=True, text=True, cwd=self.data_dir, timeout=120, check=False
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()
            raise DevstackError(f"formatting Kafka storage failed:\n{output}")

    def _quorum_args(self) -> list[str]:
        if self.quorum is None:
            return ["--standalone", "-t", new_uuid()]
        return ["--initial-controllers", self.quorum.initial_controllers, "-t", self.quorum.cluster_id]

    def wait_ready(self) -> None:
        """Until this node serves metadata (and lists groups) to the admin; kills it on failure."""
        with ThreadPoolExecutor(1, thread_name_prefix="kafka-probe") as pool:

            def probe() -> str | None:
                # A plain connect first: aiokafka logs an ERROR per refused attempt.
                # asyncio.run in a worker thread: callers may have their own loop running.
                error = _port_closed(self.port)
                if error is None:
                    error = pool.submit(asyncio.run, _probe(self.client_kwargs())).result()
                return error

            self._process.wait_ready(probe, timeout=self.startup_timeout, log=self.log_file, every=0.5)


def _port_closed(port: int) -> str | None:
    """None when something accepts connections on 127.0.0.1:port, else why not."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return None
    except OSError as exc:
        return f"port {port}: {exc}"


async def _probe(client_kwargs: dict[str, Any]) -> str | None:
    """Ask the broker for cluster metadata as the admin; None when it answers, else the error."""
    admin = AIOKafkaAdminClient(**client_kwargs, request_timeout_ms=5000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        # Fails while the group coordinator is still loading committed offsets.
        await admin.list_consumer_groups()
    except Exception as exc:  # any failure just means "not ready yet"
        return f"{type(exc).__name__}: {exc}"
    finally:
        await admin.close()
    if not cluster.get("brokers"):
        return "metadata lists no broker"
    return None


def new_uuid() -> str:
    """A random Kafka UUID (cluster or directory id: base64url without padding, not '-'-led)."""
    while True:
        value = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not value.startswith("-"):
            return value


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by us only (it holds passwords)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(0o600)  # a file from before keeps its mode through O_CREAT


def server_properties(
    log_dir: Path,
    port: int,
    controller_port: int,
    admin_password: str,
    *,
    node_id: int = 1,
    quorum: Quorum | None = None,
) -> str:
    """The broker's ``server.properties``: small machine, fast tests.

    Alone, it is the only voter and replicas are 1. In a ``quorum`` of three, every
    internal topic has three replicas, ``min.insync.replicas`` is 2 (an ``acks=all`` write
    is on two nodes before it is acknowledged), and each node is broker and controller.

    Clients: SASL_PLAINTEXT with SCRAM-SHA-512 only, ACLs enforced, ``admin`` the one
    super user. The KRaft controller listener (loopback; the broker half of this JVM
    registers with the controller half over it) takes SASL/PLAIN with only ``admin``
    defined in its JAAS entry: SCRAM users live in the metadata the controller serves,
    so they cannot authenticate to it, and an open PLAINTEXT controller would let any
    local process create ACLs as the super user ANONYMOUS.
    """
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{ADMIN_USER}" password="{admin_password}";'
    )
    controller_jaas = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{ADMIN_USER}" password="{admin_password}" user_{ADMIN_USER}="{admin_password}";'
    )
    replicas, min_isr = ("1", "1") if quorum is None else (str(min(3, len(quorum.voters))), "2")
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.bootstrap.servers": (
            f"127.0.0.1:{controller_port}" if quorum is None else quorum.bootstrap_servers
        ),
        "listeners": f"SASL_PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": SASL_MECHANISM,
        "sasl.mechanism.inter.broker.protocol": SASL_MECHANISM,
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": jaas,
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": controller_jaas,
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{ADMIN_USER}",
        "allow.everyone.if.no.acl.found": "false",
        "log.dirs": str(log_dir),
        "num.partitions": "12",
        "default.replication.factor": replicas,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": replicas,
        "offsets.topic.num.partitions": "12",
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": replicas,
        "share.coordinator.state.topic.min.isr": min_isr,
        # A follower that stops fetching leaves the ISR after this (a killed node is fenced
        # sooner, after broker.session.timeout.ms): acks=all writes wait no longer for it.
        "replica.lag.time.max.ms": "10000",
        "group.initial.rebalance.delay.ms": "0",
        "group.min.session.timeout.ms": "1000",
        # After a kill, a restarted broker waits out its old session: keep that short.
        "broker.heartbeat.interval.ms": "1000",
        "broker.session.timeout.ms": "4000",
        "auto.create.topics.enable": "false",
        # The log cleaner's 128 MB default buffer is a quarter of our small heap.
        "log.cleaner.dedupe.buffer.size": str(32 * 1024 * 1024),
        "num.io.threads": "4",
        "num.network.threads": "2",
    }
    lines = ["# Written by devstack on every start; edits are overwritten."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"
