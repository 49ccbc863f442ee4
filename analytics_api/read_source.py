"""Where reads go: a streaming standby while it answers, the primary while it does not.

With ``ANALYTICS_PRIMARY_DATABASE_URL`` set, ``ANALYTICS_DATABASE_URL`` is taken to be a
standby. A watcher asks the standby every ``STANDBY_CHECK_INTERVAL_S`` how far its replay
is behind; a failed check, or a read that fails to connect, sends reads to the primary,
and the first good check brings them back. Each answer says where it was read and how
stale that was (``X-Read-Source``, ``X-Replica-Lag-Seconds``); readiness and the metrics
``analytics_read_fallback`` and ``analytics_replica_lag_seconds`` tell the operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from analytics_api import metrics

log = logging.getLogger(__name__)

Pool = AsyncConnectionPool[AsyncConnection[DictRow]]

# The replay lag: 0 while the standby has replayed all it received, else the age of the
# last transaction it replayed.
LAG_SQL = (
    "SELECT pg_is_in_recovery() AS standby, CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()"
    " THEN 0 ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END AS lag"
)


@dataclass(slots=True)
class ReadState:
    """What the watcher last saw."""

    on_primary: bool = False
    lag_s: float | None = None
    standby_ok: bool = True


class ReadSource:
    """The reader pool in use: the standby's, or the primary's while the standby is away."""

    def __init__(
        self, standby: Pool, primary: Pool | None, *, check_interval_s: float, check_timeout_s: float
    ):
        self.standby = standby
        self.primary = primary
        self.state = ReadState()
        self._interval = check_interval_s
        self._timeout = check_timeout_s
        self._task: asyncio.Task[None] | None = None

    @property
    def has_standby(self) -> bool:
        """Whether reads have somewhere to fall back to (a standby is configured)."""
        return self.primary is not None

    def pool(self) -> Pool:
        """The pool reads use now."""
        if self.primary is not None and self.state.on_primary:
            return self.primary
        return self.standby

    def headers(self) -> dict[str, str]:
        """Freshness headers for an answer (none without a standby)."""
        if not self.has_standby:
            return {}
        if self.state.on_primary:
            return {"X-Read-Source": "primary", "X-Replica-Lag-Seconds": "0"}
        lag = self.state.lag_s
        return {
            "X-Read-Source": "standby",
            "X-Replica-Lag-Seconds": "unknown" if lag is None else f"{lag:.3f}",
        }

    def standby_failed(self, exc: BaseException) -> bool:
        """A read on the standby could not connect: fall back now. True if there is a fallback."""
        if self.primary is None:
            return False
        self._fall_back(f"a read failed: {exc}")
        return True

    def _fall_back(self, why: str) -> None:
        self.state.standby_ok = False
        if not self.state.on_primary:
            self.state.on_primary = True
            log.warning("standby unavailable (%s); reading from the primary", why)
            metrics.READ_FALLBACK.set(1)

    def _recovered(self, lag: float) -> None:
        self.state.standby_ok = True
        self.state.lag_s = lag
        metrics.REPLICA_LAG.set(lag)
        if self.state.on_primary:
            self.state.on_primary = False
            log.warning("standby is back (replay lag %.3f s); reading from it again", lag)
            metrics.READ_FALLBACK.set(0)

    async def check(self) -> None:
        """Ask the standby once; switch sources if its answer says so."""
        try:
            async with self.standby.connection(timeout=self._timeout) as conn:
                row = await (await conn.execute(LAG_SQL)).fetchone()
        except (psycopg.Error, PoolTimeout, OSError) as exc:
            self._fall_back(str(exc).strip() or exc.__class__.__name__)
            return
        if row is None or not row["standby"]:
            log.warning("ANALYTICS_DATABASE_URL is not a standby; no replay lag to report")
            self._recovered(0.0)
            return
        self._recovered(float(row["lag"] or 0.0))

    async def _watch(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        """Start watching the standby (only when there is a primary to fall back to)."""
        if self.primary is not None and self._task is None:
            metrics.READ_FALLBACK.set(0)
            self._task = asyncio.create_task(self._watch(), name="standby-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection[DictRow]]:
        """A reader connection from the pool in use. When the standby cannot give one within
        the check timeout, reads fall back to the primary at once, this one included."""
        pool = self.pool()
        if pool is self.standby and self.primary is not None:
            try:
                conn = await self.standby.getconn(timeout=self._timeout)
            except (psycopg.OperationalError, PoolTimeout) as exc:
                self.standby_failed(exc)
                pool = self.primary
            else:
                try:
                    yield conn
                finally:
                    await self.standby.putconn(conn)
                return
        async with pool.connection() as conn:
            yield conn
