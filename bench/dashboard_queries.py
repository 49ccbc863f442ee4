"""What the dashboard's data costs at fleet size: SQL time of its queries for N vehicles.

Starts a throwaway PostgreSQL (as the analytics tests do), migrates it, and writes N
vehicles and N meters (meter ``i`` mapped to vehicle ``i`` since before the window) with
24 hourly rollups each (and their running totals) and one status row each, straight into
the tables. Then times, in one reader session, p50 and p99 over ``--repeat`` runs of:

- the listing page (``analytics_vehicle_list``, 25 rows, sorted by SoC) alone;
- the page's 24 h energy (``analytics_vehicle_page_energy`` for those 25 vehicles): the
  server-side join that ``GET /v1/vehicles`` does;
- the fleet ranking with ``limit=1000`` (``analytics_fleet_efficiency``): what a client-side
  join would fetch instead (and still miss vehicles past the 1000 worst); its lines also
  carry the fleet's totals, the energy tiles' figures (``GET /v1/fleet/energy``).

    .venv/bin/python -m bench.dashboard_queries --vehicles 10000
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from analytics_api.routes.vehicles import order_by
from bench.analytics.dataset import RUNNING_TOTALS
from devstack.postgres_install import server_bindir
from sql import query
from tests.analytics.support import create_database, postgres_server

END = datetime(2025, 1, 2, 13, tzinfo=UTC)  # no whole UTC day inside: hourly rollups only
START = END - timedelta(hours=24)

HOURS = (
    "generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 hour', interval '1 hour') h"
)
SEEN = "%(end)s::timestamptz - (i %% 3000) * interval '1 second'"
SEED = (
    "INSERT INTO vehicle_hourly (vehicle_id, hour, kwh_delivered_dc, battery_temp_sum, battery_temp_max,"
    " soc_min, soc_max, samples)"
    " SELECT 'v-' || lpad(i::text, 6, '0'), h, 5 + (i * 7 + extract(hour FROM h)::int) %% 5,"
    " 1800, 35, 20, 80, 60"
    f" FROM generate_series(1, %(n)s) i, {HOURS}",
    "INSERT INTO meter_hourly"
    " (meter_id, hour, kwh_consumed_ac, voltage_min, voltage_max, voltage_sum, samples)"
    " SELECT 'm-' || lpad(i::text, 6, '0'), h, 6 + (i * 3) %% 2, 225, 235, 13800, 60"
    f" FROM generate_series(1, %(n)s) i, {HOURS}",
    "INSERT INTO smart_meter_mapping (meter_id, vehicle_id, valid)"
    " SELECT 'm-' || lpad(i::text, 6, '0'), 'v-' || lpad(i::text, 6, '0'), tstzrange('2024-01-01Z', NULL)"
    " FROM generate_series(1, %(n)s) i",
    "INSERT INTO vehicle_status"
    " (vehicle_id, ts, soc, kwh_delivered_dc, battery_temp, received_at, updated_at)"
    f" SELECT 'v-' || lpad(i::text, 6, '0'), {SEEN}, (i * 37) %% 100, i %% 3, 30, {SEEN},"
    " %(end)s::timestamptz"
    " FROM generate_series(1, %(n)s) i",
    *RUNNING_TOTALS.values(),
    "ANALYZE",
)


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    run()  # warm
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        run()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard_queries", description=__doc__)
    parser.add_argument("--vehicles", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with postgres_server(server_bindir()) as admin:
        db = create_database(admin, "dashboard_bench")
        with psycopg.connect(db.admin, autocommit=True) as conn:
            for statement in SEED:
                params = {"n": args.vehicles, "start": START, "end": END} if "%(" in statement else None
                conn.execute(statement.encode(), params)
        window: dict[str, Any] = {"from": START, "to": END}
        ranking = {"limit": 1000, "threshold": 0.85, **window}
        with psycopg.connect(db.reader, autocommit=True) as conn:
            page_sql = query("analytics_vehicle_list").format(order=order_by("soc"))

            def page() -> list[Any]:
                return conn.execute(page_sql, {"limit": 25, "offset": 0}).fetchall()

            ids = [r[0] for r in page()]
            cases: list[tuple[str, Callable[[], Any]]] = [
                ("listing page (25, sort=soc)", page),
                ("page's 24 h energy (25 ids)", lambda: conn.execute(
                    query("analytics_vehicle_page_energy"), {"ids": ids, **window}).fetchall()),
                ("fleet ranking limit=1000 + tiles", lambda: conn.execute(
                    query("analytics_fleet_efficiency"), ranking).fetchall()),
            ]  # fmt: skip
            print(f"{args.vehicles} vehicles, 24 hourly rollups each, {args.repeat} runs")
            for name, run in cases:
                p50, p99 = timed(run, args.repeat)
                print(f"{name:32} p50 {p50:8.1f} ms   p99 {p99:8.1f} ms")


if __name__ == "__main__":
    main()
