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

# A batch transaction of the replica that has written something (so has a transaction id;
# the day-partition transaction before a batch is not one), and a full 64-bit id near it
# (the current snapshot's xmax) to widen the 32-bit backend_xid with.
OPEN_BATCH = """
SELECT backend_xid::text, pg_snapshot_xmax(pg_current_snapshot())::text FROM pg_stat_activity
WHERE application_name = %s AND backend_xid IS NOT NULL AND query NOT LIKE '%%ensure_day_partitions%%'
LIMIT 1
"""
XACT_STATUS = "SELECT pg_xact_status(%s::xid8)"


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

    def freeze_mid_batch(self, name: str, sig: signal.Signals, timeout: float = 30) -> bool:
        """Send ``sig`` (SIGKILL or SIGSTOP) while replica ``name`` has a batch transaction
        open. Returns whether the evidence says the signal landed inside that transaction.

        SIGKILL: once the process is gone and PostgreSQL has noticed, the transaction seen
        open just before the kill must have been rolled back, not committed. SIGSTOP: once
        the process is stopped, that transaction must still be open (checked twice, so a
        COMMIT already on its way would have been seen landing); otherwise it is woken and
        tried again, for up to ``timeout`` seconds.
        """
        proc = self.procs[name]
        deadline = time.monotonic() + timeout
        with self.db() as db:
            while time.monotonic() < deadline:
                xid = self._open_batch(db, name)
                if xid is None:
                    time.sleep(0.003)
                    continue
                proc.signal(sig)
                if sig == signal.SIGKILL:
                    proc.wait(10)
                    return self._settled(db, xid) == "aborted"
                _wait_stopped(proc.pid)
                if self._status(db, xid) == "in progress":
                    time.sleep(0.2)
                    if self._status(db, xid) == "in progress":
                        return True
                proc.signal(signal.SIGCONT)  # stopped between transactions: try again
        proc.signal(sig)
        if sig == signal.SIGKILL:
            proc.wait(10)
        return False

    @staticmethod
    def _open_batch(db: psycopg.Connection[tuple[Any, ...]], name: str) -> str | None:
        row = db.execute(OPEN_BATCH, (f"energy-consumer:{name}",)).fetchone()
        if row is None:
            return None
        xid, xmax = int(row[0]), int(row[1])
        # The nearest full id with these low 32 bits: backend_xid is read after the
        # snapshot, so it may be a little above xmax as well as below.
        return str(xmax + ((xid - xmax + (1 << 31)) % (1 << 32)) - (1 << 31))

    @staticmethod
    def _status(db: psycopg.Connection[tuple[Any, ...]], xid: str) -> str:
        row = db.execute(XACT_STATUS, (xid,)).fetchone()
        assert row is not None
        return str(row[0])

    def _settled(self, db: psycopg.Connection[tuple[Any, ...]], xid: str, timeout: float = 10) -> str:
        """The transaction's outcome once its backend has seen the client gone."""
        deadline = time.monotonic() + timeout
        while (status := self._status(db, xid)) == "in progress":
            assert time.monotonic() < deadline, f"transaction {xid} still open {timeout} s after the kill"
            time.sleep(0.02)
        return status

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


def _wait_stopped(pid: int, timeout: float = 5) -> None:
    """Until the kernel reports process ``pid`` stopped (state T), not just signalled."""
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("T", "t"):
        assert time.monotonic() < deadline, f"process {pid} not stopped after {timeout} s"
        time.sleep(0.001)


def log_file(directory: Path) -> IO[str]:
    """Where the replicas' output goes (kept for a failed test's report)."""
    return (directory / "services.log").open("a", buffering=1)
