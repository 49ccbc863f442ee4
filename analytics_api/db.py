"""The API's connection pools (one per database role) and its query helpers.

Every connection starts with ``TimeZone=UTC``, the configured ``statement_timeout`` and
custom plans only; the reader's sessions are also read-only. Database failures become typed API errors
(503) here, so routes never see driver exceptions.
"""

from __future__ import annotations

import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import psycopg
from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout, TooManyRequests

from analytics_api import metrics
from analytics_api.errors import DatabaseUnavailable, QueryTimeout
from analytics_api.read_source import ReadSource
from analytics_api.settings import AnalyticsSettings
from sql import query

log = logging.getLogger(__name__)

Row = dict[str, Any]
Conn = AsyncConnection[DictRow]
Pool = AsyncConnectionPool[Conn]

APPLICATION_NAME = "energy-analytics"
READY_TIMEOUT_S = 2.0
CHECK_IDLE_S = 1.0
_GENERIC_PLAN = "SET plan_cache_mode = force_generic_plan"
_SESSION_PLAN = "RESET plan_cache_mode"  # back to the value the session started with


def session_options(statement_timeout_ms: int, *, read_only: bool) -> str:
    """The libpq ``options`` every pooled session starts with.

    ``plan_cache_mode=force_custom_plan``: a prepared statement is planned with its values
    every time. A generic plan of the window queries holds every day partition of the
    history tables and, on PostgreSQL 15, locks them all on each execution, a cost that
    grows with the history; a custom plan prunes them when planning (a few ms at most;
    docs/analytics-benchmark.md has the figures with and without it). The performance
    query is the exception (``fetch_one(..., generic_plan=True)``): its planning costs more
    than the locks of its generic plan (measured with 7 and with 90 day partitions).

    ``jit=off``: the fleet ranking's estimated cost is above ``jit_above_cost``, and compiling
    it took 52-68 ms of a 160 ms query at 10,000 vehicles (93 ms without); no analytics
    query reads enough rows to win that back.
    """
    opts = (
        f"-c TimeZone=UTC -c statement_timeout={statement_timeout_ms} -c plan_cache_mode=force_custom_plan"
        " -c jit=off"
    )
    return opts + (" -c default_transaction_read_only=on" if read_only else "")


class IdleCheck:
    """The pool's check of a connection it hands out: a round trip (an empty query) only when
    the connection has been idle in the pool for ``idle_s`` or more. One handed back a moment
    ago worked then (a failed query discards it); under load every connection is, and the
    round trip per request (a tenth of a performance request's time) is saved. A server
    that restarted within ``idle_s`` of a connection's last use costs that request a 503."""

    def __init__(self, idle_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s = idle_s
        self._clock = clock
        self._returned: weakref.WeakKeyDictionary[Conn, float] = weakref.WeakKeyDictionary()

    async def returned(self, conn: Conn) -> None:
        """The pool's ``reset`` callback: when the connection came back."""
        self._returned[conn] = self._clock()

    async def check(self, conn: Conn) -> None:
        """The pool's ``check`` callback: raises when the connection does not work."""
        at = self._returned.get(conn)
        if at is not None and self._clock() - at < self.idle_s and not conn.closed:
            return
        await AsyncConnectionPool.check_connection(conn)


class PlanModes:
    """Which pooled reader sessions have been switched to ``force_generic_plan``.

    Sessions start with custom plans (:func:`session_options`). The performance query wants
    a generic plan: a session is switched by a ``SET`` sent in one pipeline with the query,
    and stays switched while it runs performance queries (one statement per request, where
    a ``SET`` and a ``RESET`` around each cost about a fifth of the API's CPU per request);
    any other query on it is preceded by a ``RESET`` in its pipeline. A pipeline is one
    implicit transaction, but after any failure (a statement's, or a pipeline cut short on
    this side by a cancelled request) the mode counts as unknown, and the next query on that
    session sends its own setting again.
    """

    def __init__(self) -> None:
        self._mode: weakref.WeakKeyDictionary[Conn, str] = weakref.WeakKeyDictionary()

    async def run(
        self, conn: Conn, statement: Any, params: Mapping[str, Any], *, generic: bool
    ) -> AsyncCursor[DictRow]:
        """Execute ``statement`` on the plans asked for; its cursor."""
        mode = self._mode.get(conn, "custom")
        wanted = "generic" if generic else "custom"
        if mode == wanted:
            return await conn.execute(statement, params)
        try:
            async with conn.pipeline():
                await conn.execute(_GENERIC_PLAN if generic else _SESSION_PLAN)
                cur = await conn.execute(statement, params)
        except BaseException:
            self._mode[conn] = "unknown"  # the next query sends its setting again
            raise
        self._set(conn, wanted)
        return cur

    async def custom(self, conn: Conn) -> None:
        """Back to custom plans before a connection is handed out for several queries."""
        if self._mode.get(conn, "custom") != "custom":
            self._mode[conn] = "unknown"
            await conn.execute(_SESSION_PLAN)
            self._set(conn, "custom")

    def _set(self, conn: Conn, mode: str) -> None:
        if mode == "custom":
            self._mode.pop(conn, None)
        else:
            self._mode[conn] = mode


def make_pool(url: str, settings: AnalyticsSettings, *, name: str, max_size: int, read_only: bool) -> Pool:
    """A closed pool; :meth:`Database.open` opens it."""
    idle = IdleCheck(CHECK_IDLE_S)
    return AsyncConnectionPool(
        url,
        connection_class=AsyncConnection[DictRow],
        kwargs={
            "row_factory": dict_row,
            "autocommit": True,
            "application_name": APPLICATION_NAME,
            "options": session_options(settings.statement_timeout_ms, read_only=read_only),
        },
        min_size=min(settings.pool_min_size, max_size),
        max_size=max_size,
        open=False,
        name=name,
        timeout=settings.pool_timeout_s,
        max_waiting=settings.pool_max_waiting,
        check=idle.check,
        reset=idle.returned,
    )


@contextlib.contextmanager
def translated(statement_timeout_ms: int) -> Iterator[None]:
    """Turn timeouts and connection failures into 503 answers."""
    try:
        yield
    except psycopg.errors.QueryCanceled:
        metrics.DB_ERRORS.labels("statement_timeout").inc()
        raise QueryTimeout(
            f"the query exceeded the statement timeout of {statement_timeout_ms} ms; narrow the window"
        ) from None
    except (PoolTimeout, TooManyRequests) as exc:
        metrics.DB_ERRORS.labels("pool").inc()
        log.warning("no database connection available: %s", exc)
        raise DatabaseUnavailable("pool", retry_after_s=1, detail=str(exc)) from None
    except psycopg.OperationalError as exc:
        metrics.DB_ERRORS.labels("connection").inc()
        log.warning("database unreachable: %s", exc)
        raise DatabaseUnavailable("connection", retry_after_s=5, detail=str(exc)) from None


class Database:
    """The reader pool (all reads) and the small mapper pool (mapping writes)."""

    def __init__(self, settings: AnalyticsSettings) -> None:
        self._timeout_ms = settings.statement_timeout_ms
        self._ready_timeout_s = min(READY_TIMEOUT_S, settings.pool_timeout_s)
        self.reader = make_pool(
            settings.database_url,
            settings,
            name="analytics-reader",
            max_size=settings.pool_max_size,
            read_only=True,
        )
        self.mapper = make_pool(
            settings.mapper_url,
            settings,
            name="analytics-mapper",
            max_size=settings.mapping_pool_max_size,
            read_only=False,
        )
        # With a standby in ANALYTICS_DATABASE_URL: the primary's reader pool to fall back to.
        self.primary_reader = (
            make_pool(
                settings.primary_database_url,
                settings,
                name="analytics-primary-reader",
                max_size=settings.pool_max_size,
                read_only=True,
            )
            if settings.primary_database_url
            else None
        )
        self._plans = PlanModes()
        self.reads = ReadSource(
            self.reader,
            self.primary_reader,
            check_interval_s=settings.standby_check_interval_s,
            check_timeout_s=min(1.0, settings.pool_timeout_s),
        )

    async def open(self) -> None:
        """Start both pools without waiting: the API starts even while the database is down."""
        await self.reader.open(wait=False)
        await self.mapper.open(wait=False)
        if self.primary_reader is not None:
            await self.primary_reader.open(wait=False)
        self.reads.start()

    async def close(self) -> None:
        """Close the pools."""
        await self.reads.stop()
        if self.primary_reader is not None:
            await self.primary_reader.close()
        await self.mapper.close()
        await self.reader.close()

    async def fetch_all(self, name: str, params: Mapping[str, Any]) -> list[Row]:
        """All rows of the named query ``sql/queries/<name>.sql``."""
        with translated(self._timeout_ms):
            async with self.reads.connection() as conn:
                cur = await self._plans.run(conn, query(name), params, generic=False)
                return await cur.fetchall()

    async def fetch_one(
        self, name: str, params: Mapping[str, Any], *, generic_plan: bool = False
    ) -> Row | None:
        """The first row of the named query, if any.

        ``generic_plan``: run it with ``plan_cache_mode=force_generic_plan`` (:class:`PlanModes`).
        Once psycopg has prepared the statement on a connection (its fifth execution there),
        PostgreSQL plans it once and prunes the day partitions at executor start instead of
        planning on every request (figures in docs/analytics-benchmark.md).
        """
        with translated(self._timeout_ms):
            async with self.reads.connection() as conn:
                cur = await self._plans.run(conn, query(name), params, generic=generic_plan)
                return await cur.fetchone()

    @contextlib.asynccontextmanager
    async def reader_connection(self) -> AsyncIterator[AsyncConnection[DictRow]]:
        """A read-only connection, for work that takes more than one query (custom plans)."""
        with translated(self._timeout_ms):
            async with self.reads.connection() as conn:
                await self._plans.custom(conn)
                yield conn

    @contextlib.asynccontextmanager
    async def mapper_connection(self) -> AsyncIterator[AsyncConnection[DictRow]]:
        """A connection of the mapper role (autocommit; open a transaction for writes)."""
        with translated(self._timeout_ms):
            async with self.mapper.connection() as conn:
                yield conn

    async def ready(self) -> dict[str, bool]:
        """Whether each pool can run a query right now: ``reader`` is the pool reads use now
        (the primary's while a standby is away); ``standby``, when one is configured."""
        result = {}
        pools = [("reader", self.reads.pool()), ("mapper", self.mapper)]
        if self.reads.has_standby:
            pools.append(("standby", self.reader))
        for label, pool in pools:
            try:
                async with pool.connection(timeout=self._ready_timeout_s) as conn:
                    await conn.execute("SELECT 1")
                result[label] = True
            except (psycopg.Error, PoolTimeout, TooManyRequests):
                result[label] = False
        return result
