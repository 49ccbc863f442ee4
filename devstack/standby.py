"""A streaming-replication hot standby of a local :class:`PostgresServer`, for analytics reads.

The standby is cloned once from the primary with ``pg_basebackup -R`` (which writes
``standby.signal`` and the ``primary_conninfo``), then started on its own port with
``hot_standby=on``. The primary must run with ``replication=True`` (``wal_level=replica``
and WAL senders). Roles, passwords and data all come from the primary, so the same
logins work on both; writes on the standby fail, as they should.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path
from urllib.parse import quote

import psycopg

from devstack._process import ManagedProcess
from devstack.errors import DevstackError
from devstack.postgres import REPLICATION_SETTINGS, SETTINGS, SUPERUSER, PostgresServer
from devstack.postgres_install import (
    SERVICE_USER,
    give_to_service_user,
    is_root,
    make_traversable,
    server_bindir,
)

STANDBY_SETTINGS = {**SETTINGS, **REPLICATION_SETTINGS, "hot_standby": "on", "hot_standby_feedback": "on"}


class PostgresStandby:
    """A hot standby of ``primary`` with its cluster and log in ``data_dir``."""

    def __init__(self, primary: PostgresServer, data_dir: Path, port: int, *, startup_timeout: float = 60.0):
        self.primary = primary
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.startup_timeout = startup_timeout
        self._process = ManagedProcess("postgres-standby", self.data_dir / "postgres.pid", signal.SIGINT)

    @property
    def cluster_dir(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "postgres.log"

    def url(self, database: str) -> str:
        """Superuser URL of ``database`` on the standby (read only)."""
        secret = quote(self.primary.password, safe="")
        return f"postgresql://{SUPERUSER}:{secret}@127.0.0.1:{self.port}/{quote(database)}"

    @property
    def database_url(self) -> str:
        return self.url(self.primary.database)

    def is_running(self) -> bool:
        return self._process.running()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> None:
        """Clone the primary (first time only), start, and wait until it accepts reads."""
        if self.is_running():
            return
        bindir = server_bindir()
        user = self._prepare_user()
        if not (self.cluster_dir / "standby.signal").exists():
            self._clone(bindir, user)
        argv = [str(bindir / "postgres"), "-D", str(self.cluster_dir), "-p", str(self.port)]
        for name, value in {**STANDBY_SETTINGS, "unix_socket_directories": ""}.items():
            argv += ["-c", f"{name}={value}"]
        self._process.spawn(argv, log=self.log_file, cwd=self.data_dir, ports=(self.port,), user=user)
        self._wait_ready()

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown; SIGKILL after ``timeout`` s."""
        self._process.stop(timeout)

    def kill(self) -> None:
        """SIGKILL the standby and its processes, as a crash would."""
        self._process.kill()

    def _prepare_user(self) -> str | None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not is_root():
            return None
        make_traversable(self.data_dir)
        give_to_service_user(self.data_dir)
        return SERVICE_USER

    def _clone(self, bindir: Path, user: str | None) -> None:
        scratch = self.data_dir / "pgdata.clone"
        shutil.rmtree(scratch, ignore_errors=True)
        argv = [
            str(bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", SUPERUSER,
            "-D", str(scratch), "-R", "-X", "stream", "-c", "fast", "--no-password",
        ]  # fmt: skip
        env = {**os.environ, "PGPASSWORD": self.primary.password}
        result = subprocess.run(
            argv, capture_output=True, text=True, cwd=self.data_dir, env=env, user=user, group=user,
            extra_groups=[] if user else None, check=False, timeout=300,
        )  # fmt: skip
        if result.returncode != 0:
            raise DevstackError(f"pg_basebackup failed:\n{(result.stdout + result.stderr).strip()}")
        shutil.rmtree(self.cluster_dir, ignore_errors=True)
        scratch.rename(self.cluster_dir)

    def _wait_ready(self) -> None:
        def probe() -> str | None:
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2) as conn:
                    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            except psycopg.OperationalError as exc:
                return str(exc).strip()
            return None if row == (True,) else "the server is not in recovery (not a standby)"

        self._process.wait_ready(probe, timeout=self.startup_timeout, log=self.log_file)
