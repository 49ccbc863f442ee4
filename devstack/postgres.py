"""A real PostgreSQL server run from the machine's binaries, with its own data folder."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from devstack._process import ManagedProcess, is_live_pid
from devstack.errors import DevstackError
from devstack.postgres_install import (
    SERVICE_USER,
    ensure_service_user,
    give_to_service_user,
    is_root,
    make_traversable,
    server_bindir,
)

SUPERUSER = "postgres"
_SOCKET_PATH_MAX = 100  # sun_path holds 107 bytes; PostgreSQL refuses longer paths

SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "200",
    "shared_buffers": "256MB",
    # Durability stays on: the effectively-once tests rely on real commits.
    "fsync": "on",
    "synchronous_commit": "on",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "log_line_prefix": "%m [%p] ",
}
# With a standby (``make run PG_REPLICA=1``): WAL a standby can replay, and senders for it.
REPLICATION_SETTINGS = {"wal_level": "replica", "max_wal_senders": "5", "wal_keep_size": "512MB"}


class PostgresServer:
    """One PostgreSQL server whose cluster, password, socket and log live in ``data_dir``.

    Layout: ``pgdata/`` (the cluster), ``superuser-password`` (0600), ``run/`` (the
    Unix socket), ``postgres.log``. The cluster is created once; ``start()`` then only
    launches it and waits for ``SELECT 1``, and makes sure ``database`` exists.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        *,
        database: str = "energy",
        startup_timeout: float = 60.0,
        replication: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.database = database
        self.settings = {**SETTINGS, **(REPLICATION_SETTINGS if replication else {})}
        self.startup_timeout = startup_timeout
        self._process = ManagedProcess(
            "postgres",
            self.data_dir / "postgres.pid",
            signal.SIGINT,  # SIGINT: fast shutdown
        )

    @property
    def cluster_dir(self) -> Path:
        """The PostgreSQL data directory (``PGDATA``)."""
        return self.data_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        """The server's log."""
        return self.data_dir / "postgres.log"

    @property
    def password(self) -> str:
        """The superuser's password, generated on first use and kept in a 0600 file."""
        path = self.data_dir / "superuser-password"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(24) + "\n")
        return path.read_text().strip()

    @property
    def database_url(self) -> str:
        """Superuser URL of the application database."""
        return self.url(self.database)

    def url(self, database: str) -> str:
        """Superuser URL of ``database`` on this server."""
        secret = quote(self.password, safe="")
        return f"postgresql://{SUPERUSER}:{secret}@127.0.0.1:{self.port}/{quote(database)}"

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while it runs."""
        return self._process.pid

    def is_running(self) -> bool:
        """Whether the postmaster is alive."""
        return self._process.running()

    def start(self) -> None:
        """Create the cluster if needed, start the server, wait until it answers."""
        if self.is_running():
            return
        bindir = server_bindir()
        user = self._prepare_user()
        if not (self.cluster_dir / "PG_VERSION").exists():
            self._initdb(bindir, user)
        self._drop_lock_of_dead_postmaster()
        argv = [str(bindir / "postgres"), "-D", str(self.cluster_dir), "-p", str(self.port)]
        for name, value in {**self.settings, "unix_socket_directories": self._socket_dir()}.items():
            argv += ["-c", f"{name}={value}"]
        self._process.spawn(argv, log=self.log_file, cwd=self.data_dir, ports=(self.port,), user=user)
        self._wait_ready()
        self._create_database()

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT); SIGKILL the process group after ``timeout`` s."""
        self._process.stop(timeout)

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends at once, as a crash would."""
        self._process.kill()

    def restart(self) -> None:
        """Stop and start again on the same port with the same data."""
        self.stop()
        self.start()

    def _prepare_user(self) -> str | None:
        """As root, run the server as ``postgres`` (it refuses root) and hand it the folder."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _ = self.password  # created before the chown below
        if not is_root():
            return None
        ensure_service_user()
        make_traversable(self.data_dir)
        for path in (self.data_dir, self.data_dir / "superuser-password"):
            give_to_service_user(path)
        return SERVICE_USER

    def _drop_lock_of_dead_postmaster(self) -> None:
        """Remove ``postmaster.pid`` if its process is a zombie.

        A killed postmaster orphaned by a killed runner lingers as a zombie until
        init reaps it, and PostgreSQL takes a zombie's pid for a live server.
        """
        lock = self.cluster_dir / "postmaster.pid"
        try:
            pid = int(lock.read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError):
            return
        if Path(f"/proc/{pid}").exists() and not is_live_pid(pid):
            lock.unlink(missing_ok=True)

    def _socket_dir(self) -> str:
        """``run/`` for the Unix socket, or '' (TCP only) if its path would be too long."""
        run = self.data_dir / "run"
        if len(str(run / f".s.PGSQL.{self.port}.lock")) > _SOCKET_PATH_MAX:
            return ""
        run.mkdir(mode=0o700, exist_ok=True)
        if is_root():
            give_to_service_user(run)
        return str(run)

    def _initdb(self, bindir: Path, user: str | None) -> None:
        """Create the cluster in a scratch folder, renamed into place only when complete."""
        scratch = self.data_dir / "pgdata.initdb"
        shutil.rmtree(scratch, ignore_errors=True)
        argv = [
            str(bindir / "initdb"), "-D", str(scratch), "-U", SUPERUSER,
            f"--pwfile={self.data_dir / 'superuser-password'}",
            "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
            "--encoding=UTF8", "--no-locale",
        ]  # fmt: skip
        result = subprocess.run(
            argv, capture_output=True, text=True, cwd=self.data_dir, user=user, group=user,
            extra_groups=[] if user else None, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise DevstackError(f"initdb failed:\n{(result.stdout + result.stderr).strip()}")
        shutil.rmtree(self.cluster_dir, ignore_errors=True)
        scratch.rename(self.cluster_dir)

    def _wait_ready(self) -> None:
        def probe() -> str | None:
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2) as conn:
                    return None if conn.execute("SELECT 1").fetchone() == (1,) else "SELECT 1 failed"
            except psycopg.OperationalError as exc:
                return str(exc).strip()

        self._process.wait_ready(probe, timeout=self.startup_timeout, log=self.log_file)

    def _create_database(self) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone()
            if exists is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
