"""Helpers shared by the integration tests: service processes, HTTP clients, waiting."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
import psycopg

from energy_ingest.procs import ServiceProcess

T = TypeVar("T")


class Services:
    """The service processes of one test session, by name."""

    def __init__(self, env: dict[str, str], sink: IO[str] | None) -> None:
        self.env = env
        self._sink = sink
        self.procs: dict[str, ServiceProcess] = {}

    def start(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> ServiceProcess:
        proc = ServiceProcess(name, args, self.env | (extra_env or {}), sink=self._sink).start()
        self.procs[name] = proc
        return proc

    def start_consumer(self, name: str, extra_env: dict[str, str] | None = None) -> ServiceProcess:
        return self.start(name, ["consumer"], {"CONSUMER_INSTANCE_ID": name} | (extra_env or {}))

    def consumers(self) -> list[ServiceProcess]:
        return [p for n, p in self.procs.items() if n.startswith("consumer") and p.alive()]

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.stop()

    def gateway(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.env["GATEWAY_URL"],
            headers={"Authorization": f"Bearer {self.env['INGEST_TOKEN']}"},
            timeout=30,
        )

    def analytics(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.env["ANALYTICS_URL"],
            headers={"Authorization": f"Bearer {token or self.env['ANALYTICS_TOKEN']}"},
            timeout=30,
        )

    def db(self) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(self.env["DATABASE_URL"], autocommit=True)


def unique(prefix: str) -> str:
    """A device id no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def recent_minute(minutes_ago: int = 0) -> datetime:
    """A whole minute in the recent past (inside the default analytics window)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now - timedelta(minutes=minutes_ago)


def eventually(check: Callable[[], T | None], timeout: float = 60.0, every: float = 0.2) -> T:
    """Poll ``check`` until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s; last value: {last!r}")


def count_rows(conn: psycopg.Connection[tuple[Any, ...]], table: str, id_col: str, prefix: str) -> int:
    """Rows of ``table`` whose device id starts with ``prefix``."""
    from psycopg import sql

    row = conn.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE {} LIKE %s").format(
            sql.Identifier(table), sql.Identifier(id_col)
        ),
        (prefix + "%",),
    ).fetchone()
    assert row is not None
    return int(row[0])


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not reaped, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
