"""Consumer replicas of one consumer group, run as real processes, and their offsets."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import httpx
import psycopg
from aiokafka.structs import TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from common.kafka import KafkaAccess
from devstack import free_port
from energy_ingest.procs import ServiceProcess
from energy_ingest.topics import end_offsets as topic_end_offsets
from tests.support import eventually

IN_TRANSACTION = """
SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND xact_start IS NOT NULL
"""


def end_offsets(env: Mapping[str, str]) -> dict[TopicPartition, int]:
    """The high-water mark of every partition of the telemetry topics."""
    return asyncio.run(topic_end_offsets(KafkaAccess.admin_from(env)))


class Fleet:
    """The replicas of one group. The group starts at the topics' current end.

    Its stored offsets are seeded with the end offsets before any replica starts, so
    the group reads only what the test produces afterwards, however much earlier tests
    left in the topics.
    """

    def __init__(self, env: dict[str, str], group: str, log: IO[str]) -> None:
        self.env = env
        self.group = group
        self._log = log
        self.procs: dict[str, ServiceProcess] = {}
        self.ports: dict[str, int] = {}
        self.stopped: set[str] = set()
        self.start_offsets = end_offsets(env)
        with self.db() as db:
            db.cursor().executemany(
                "INSERT INTO consumer_offsets (group_id, topic, partition, next_offset) "
                "VALUES (%s, %s, %s, %s)",
                [(group, tp.topic, tp.partition, off) for tp, off in self.start_offsets.items()],
            )

    def db(self) -> psycopg.Connection[tuple[Any, ...]]:
        """An autocommit superuser connection to the tests' database."""
        return psycopg.connect(self.env["DATABASE_URL"], autocommit=True, connect_timeout=5)

    def start(self, name: str, extra: dict[str, str] | None = None) -> ServiceProcess:
        """Start replica ``name`` (its static member id), with its own metrics port."""
        port = self.ports.setdefault(name, free_port())
        env = self.env | {
            "CONSUMER_GROUP": self.group,
            "CONSUMER_INSTANCE_ID": name,
            "CONSUMER_METRICS_PORT": str(port),
        }
        proc = ServiceProcess(name, ["consumer"], env | (extra or {}), sink=self._log).start()
        self.stopped.discard(name)
        self.procs[name] = proc
        return proc

    def kill(self, name: str) -> None:
        """``kill -9``: no clean-up of any kind."""
        proc = self.procs[name]
        proc.signal(signal.SIGKILL)
        proc.wait(10)

    def stop(self, name: str) -> int | None:
        """SIGTERM and wait; returns the exit code."""
        self.stopped.add(name)
        return self.procs[name].stop(timeout=30)

    def stop_all(self) -> dict[str, int | None]:
        for proc in self.procs.values():
            proc.signal(signal.SIGCONT)  # a test may fail with a replica stopped
        return {name: proc.stop(timeout=30) for name, proc in self.procs.items()}

    def assert_alive(self) -> None:
        """Every replica not stopped on purpose is still running."""
        dead = {n: p.returncode() for n, p in self.procs.items() if not p.alive() and n not in self.stopped}
        assert not dead, f"replicas exited: {dead}\n" + "\n".join(self.procs[n].tail(30) for n in dead)

    def in_transaction(self, name: str) -> bool:
        """Whether replica ``name`` has a database transaction open right now."""
        with self.db() as db:
            row = db.execute(IN_TRANSACTION, (f"energy-consumer:{name}",)).fetchone()
        return bool(row and row[0])

    def freeze_mid_batch(self, name: str, sig: signal.Signals, attempts: int = 200) -> bool:
        """Send ``sig`` (SIGKILL or SIGSTOP) at a moment replica ``name`` is inside a batch
        transaction. Returns whether that was confirmed (for SIGSTOP, checked afterwards)."""
        proc = self.procs[name]
        with self.db() as db:
            app = (f"energy-consumer:{name}",)
            for _ in range(attempts):
                row = db.execute(IN_TRANSACTION, app).fetchone()
                if not (row and row[0]):
                    time.sleep(0.003)
                    continue
                proc.signal(sig)
                if sig != signal.SIGSTOP:
                    return True
                row = db.execute(IN_TRANSACTION, app).fetchone()
                if row and row[0]:
                    return True
                proc.signal(signal.SIGCONT)  # stopped between transactions: try again
        proc.signal(sig)
        return False

    def metric(self, name: str, sample: str, labels: dict[str, str] | None = None) -> float:
        """Sum of the samples called ``sample`` (matching ``labels``) on replica ``name``."""
        text = httpx.get(f"http://127.0.0.1:{self.ports[name]}/metrics", timeout=5).text
        total = 0.0
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name == sample and all(s.labels.get(k) == v for k, v in (labels or {}).items()):
                    total += s.value
        return total

    def wait_metrics(self, name: str, timeout: float = 30) -> None:
        """Wait until replica ``name`` serves its metrics."""

        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{self.ports[name]}/metrics", timeout=2).is_success
            except httpx.HTTPError:
                return False

        eventually(up, timeout=timeout)

    def stored_offsets(self) -> dict[TopicPartition, int]:
        with self.db() as db:
            rows = db.execute(
                "SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = %s",
                (self.group,),
            ).fetchall()
        return {TopicPartition(t, p): o for t, p, o in rows}

    def lagging(self) -> dict[str, int]:
        """Partitions whose stored offset is behind the topic's end (empty: caught up)."""
        ends = end_offsets(self.env)
        stored = self.stored_offsets()
        return {
            f"{tp.topic}[{tp.partition}]": end - stored.get(tp, 0)
            for tp, end in ends.items()
            if stored.get(tp, 0) != end
        }

    def skipped_records(self) -> list[str]:
        """Replica log lines saying records were skipped as gone from Kafka.

        The tests never let Kafka's retention remove anything, so any such line means a
        replica skipped records it had taken from Kafka itself: data loss.
        """
        text = Path(self._log.name).read_text(errors="replace")
        return [line for line in text.splitlines() if "records are no longer in Kafka" in line]

    def consumed(self) -> int:
        """Messages the group moved its stored offsets over since it was created."""
        stored = self.stored_offsets()
        return sum(stored[tp] - start for tp, start in self.start_offsets.items())


def log_file(directory: Path) -> IO[str]:
    """Where the replicas' output goes (kept for a failed test's report)."""
    return (directory / "services.log").open("a", buffering=1)
