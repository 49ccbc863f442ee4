"""A real single-node Apache Kafka broker (KRaft, broker+controller in one JVM)."""

from __future__ import annotations

import asyncio
import base64
import signal
import socket
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from devstack._process import ManagedProcess, tail
from devstack.errors import DevstackError, ServiceStartError
from devstack.kafka_jars import LOG4J2_CONFIG, java_executable, kafka_libs

JVM_HEAP = ("-Xms256m", "-Xmx512m")


class KafkaBroker:
    """One Kafka broker whose config, logs and data all live in ``data_dir``.

    ``start()`` resolves the jars (cached), formats the storage on first use, starts
    the JVM and returns once a real client gets cluster metadata back. ``stop()``,
    ``kill()`` and ``restart()`` keep the ports and the data.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        controller_port: int,
        *,
        cache_dir: Path | None = None,
        startup_timeout: float = 90.0,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.controller_port = controller_port
        self.cache_dir = cache_dir
        self.startup_timeout = startup_timeout
        self._process = ManagedProcess("kafka", self.data_dir / "kafka.pid", signal.SIGTERM)

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

    def is_running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process.running()

    def start(self) -> None:
        """Provision, start and wait until the broker serves metadata."""
        if self.is_running():
            return
        java = java_executable()
        libs = kafka_libs(self.cache_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        classpath = f"{libs}/*"
        if not (self.data_dir / "data" / "meta.properties").exists():
            self._format(java, classpath, config)
        self._process.spawn(
            [java, *JVM_HEAP, *self._jvm_flags(), "-cp", classpath, "kafka.Kafka", str(config)],
            log=self.log_file,
            cwd=self.data_dir,
            ports=(self.port, self.controller_port),
        )
        self._wait_ready()

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

    def _write_config(self) -> Path:
        config = self.data_dir / "server.properties"
        config.write_text(server_properties(self.data_dir / "data", self.port, self.controller_port))
        return config

    def _format(self, java: str, classpath: str, config: Path) -> None:
        """Format the KRaft storage once (a single-voter "standalone" quorum)."""
        argv = [
            java, "-Xmx256m", *self._jvm_flags(), "-cp", classpath, "kafka.tools.StorageTool",
            "format", "--standalone", "-t", _cluster_id(), "-c", str(config),
        ]  # fmt: skip
        result = subprocess.run(
            argv, capture_output=True, text=True, cwd=self.data_dir, timeout=120, check=False
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()
            raise DevstackError(f"formatting Kafka storage failed:\n{output}")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last_error = "no answer yet"
        with ThreadPoolExecutor(1, thread_name_prefix="kafka-probe") as pool:
            while True:
                if not self.is_running():
                    code = self._process.exit_code()
                    self._process.kill()
                    raise ServiceStartError(
                        "kafka", f"the broker exited with code {code}", tail(self.log_file)
                    )
                # A plain connect first: aiokafka logs an ERROR per refused attempt.
                # asyncio.run in a worker thread: callers may have their own loop running.
                error = _port_closed(self.port) or pool.submit(asyncio.run, _probe(self.bootstrap)).result()
                if error is None:
                    return
                last_error = error
                if time.monotonic() > deadline:
                    self._process.kill()
                    raise ServiceStartError(
                        "kafka",
                        f"no metadata within {self.startup_timeout:.0f} s ({last_error})",
                        tail(self.log_file),
                    )
                time.sleep(0.5)


def _port_closed(port: int) -> str | None:
    """None when something accepts connections on 127.0.0.1:port, else why not."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return None
    except OSError as exc:
        return f"port {port}: {exc}"


async def _probe(bootstrap: str) -> str | None:
    """Ask the broker for cluster metadata; None when it answers, else the error."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
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


def _cluster_id() -> str:
    """A random Kafka cluster id (a UUID, base64url without padding, not '-'-led)."""
    while True:
        value = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not value.startswith("-"):
            return value


def server_properties(log_dir: Path, port: int, controller_port: int) -> str:
    """The broker's ``server.properties``: single node, small machine, fast tests."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(log_dir),
        "num.partitions": "12",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "12",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
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
