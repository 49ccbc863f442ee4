"""The performance query on a generic plan (partitions pruned at executor start), while
every other query of the session keeps custom plans; answers stay exact."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import psycopg
import pytest
from psycopg.rows import dict_row

from analytics_api.app import create_app
from analytics_api.db import PlanModes
from analytics_api.deps import AppContext

from .support import BASE, Clock, Database, Dataset, serve, settings_for
from .test_performance import check_window

# psycopg prepares a statement on its fifth execution on a connection; the plan choice
# of a prepared statement is counted in pg_prepared_statements
WINDOWS = [
    (BASE + timedelta(hours=i, minutes=7 * i, seconds=3), BASE + timedelta(hours=5 + 2 * i, minutes=11))
    for i in range(9)
]
PLANS = """SELECT coalesce(sum(generic_plans), 0) AS generic, coalesce(sum(custom_plans), 0) AS custom
FROM pg_prepared_statements WHERE statement LIKE '%%smart_meter_mapping m, win%%'"""


async def test_performance_runs_on_a_generic_plan_and_the_session_stays_custom(
    main_db: Database, dataset: Dataset, clock: Clock
) -> None:
    app = create_app(settings_for(main_db, pool_min_size=1, pool_max_size=1), clock=clock)
    async with serve(app) as client:
        for start, end in WINDOWS:
            await check_window(client, dataset, "v-a", start, end)  # exact (plain Python sums)
        ctx: AppContext = app.state.analytics
        async with ctx.db.reader_connection() as conn:  # the pool's only connection
            pid = (await (await conn.execute("SELECT pg_backend_pid() AS pid")).fetchone() or {})["pid"]
            plans = await (await conn.execute(PLANS)).fetchone()
            mode = await (await conn.execute("SHOW plan_cache_mode")).fetchone()
        assert plans is not None
        assert mode is not None
        assert plans["generic"] >= len(WINDOWS) - 5, plans
        assert plans["custom"] == 0, plans
        assert mode["plan_cache_mode"] == "force_custom_plan"

        # a failing statement (lower bound above the upper one) does not leave the session generic
        start, end = WINDOWS[0]
        params = {"vehicle_id": "v-a", "from": end, "to": start}
        with pytest.raises(psycopg.errors.DataException):
            await ctx.db.fetch_one("analytics_performance", params, generic_plan=True)
        async with ctx.db.reader_connection() as conn:
            same = (await (await conn.execute("SELECT pg_backend_pid() AS pid")).fetchone() or {})["pid"]
            mode = await (await conn.execute("SHOW plan_cache_mode")).fetchone()
        assert mode is not None
        assert same == pid  # the same session, still usable
        assert mode["plan_cache_mode"] == "force_custom_plan"


class Counting:
    """A real connection whose statements are counted (what PlanModes sends)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn
        self.sent: list[str] = []

    async def execute(self, statement: Any, params: Any = None) -> Any:
        self.sent.append("query" if params is not None else str(statement))
        return await self.conn.execute(statement, params)

    def pipeline(self) -> Any:
        return self.conn.pipeline()


async def test_a_session_stays_on_the_plans_of_its_last_query_and_resets_after_a_failure(
    main_db: Database,
) -> None:
    modes = PlanModes()
    mode = "SELECT current_setting('plan_cache_mode') AS mode, %(x)s::int AS x"
    async with await psycopg.AsyncConnection.connect(
        main_db.reader, autocommit=True, row_factory=dict_row, options="-c plan_cache_mode=force_custom_plan"
    ) as real:
        conn = Counting(real)
        ran: list[tuple[bool, str]] = []
        for generic in (True, True, True, False, False, True):
            cur = await modes.run(cast(Any, conn), mode, {"x": 1}, generic=generic)
            ran.append((generic, (await cur.fetchone() or {})["mode"]))
        assert ran == [
            (g, "force_generic_plan" if g else "force_custom_plan")
            for g in (True, True, True, False, False, True)
        ]
        # a SET only where the mode changes: three generic in a row cost one
        assert conn.sent == [
            "SET plan_cache_mode = force_generic_plan",
            "query",
            "query",
            "query",
            "RESET plan_cache_mode",
            "query",
            "query",
            "SET plan_cache_mode = force_generic_plan",
            "query",
        ]
        conn.sent.clear()
        with pytest.raises(psycopg.errors.DivisionByZero):
            await modes.run(cast(Any, conn), "SELECT 1 / 0 AS x, %(x)s::int", {"x": 1}, generic=False)
        cur = await modes.run(cast(Any, conn), mode, {"x": 1}, generic=True)  # unknown: set again
        assert (await cur.fetchone() or {})["mode"] == "force_generic_plan"
        await modes.custom(cast(Any, conn))  # before a connection is handed out
        cur = await real.execute("SHOW plan_cache_mode")
        assert (await cur.fetchone() or {})["plan_cache_mode"] == "force_custom_plan"
        assert conn.sent == [
            "RESET plan_cache_mode",
            "query",
            "SET plan_cache_mode = force_generic_plan",
            "query",
            "RESET plan_cache_mode",
        ]
