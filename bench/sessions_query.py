"""What ``GET /v1/vehicles/{id}/sessions`` costs in the database: its two queries timed alone.

Starts a private PostgreSQL (devstack, no Kafka), migrates it and fills it in SQL: M
connectors (meters) and M vehicles at one reading a minute for D days, their hourly
rollups, one card per vehicle and three sessions a day per connector, 2 to 4 hours long,
starting at odd seconds (so every span has raw edges and whole rollup hours). Then, for
one vehicle, the route's session page and energy queries over a one-day and a D-day window,
with the API's session settings (custom plans); median and 90th percentile.

    .venv/bin/python -m bench.sessions_query --meters 20 --days 14 --runs 30
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from analytics_api.routes.sessions import _spans
from devstack import free_port
from devstack.postgres import PostgresServer
from energy_ingest.migrate import migrate
from sql import query

START = datetime(2026, 11, 1, tzinfo=UTC)

FILL = """
SELECT ensure_day_partitions(array_agg(d::date), 3, 64)
FROM generate_series(%(start)s::date, %(end)s::date, interval '1 day') d;
INSERT INTO meter_telemetry (meter_id, ts, kwh_consumed_ac, voltage)
SELECT 'cpb-' || m || ':1', t, (random() * 0.3)::numeric(10, 4), 230
FROM generate_series(1, %(meters)s) m,
     generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 minute',
                     interval '1 minute') t;
INSERT INTO vehicle_telemetry (vehicle_id, ts, soc, kwh_delivered_dc, battery_temp)
SELECT 'vb-' || m, t, 50, (random() * 0.25)::numeric(10, 4), 30
FROM generate_series(1, %(meters)s) m,
     generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 minute',
                     interval '1 minute') t;
INSERT INTO meter_hourly (meter_id, hour, kwh_consumed_ac, voltage_min, voltage_max, voltage_sum, samples)
SELECT meter_id, date_trunc('hour', ts), sum(kwh_consumed_ac), min(voltage), max(voltage), sum(voltage),
       count(*)
FROM meter_telemetry GROUP BY 1, 2;
INSERT INTO vehicle_hourly (vehicle_id, hour, kwh_delivered_dc, battery_temp_sum, battery_temp_max, soc_min,
                            soc_max, samples)
SELECT vehicle_id, date_trunc('hour', ts), sum(kwh_delivered_dc), sum(battery_temp), max(battery_temp),
       min(soc), max(soc), count(*)
FROM vehicle_telemetry GROUP BY 1, 2;
INSERT INTO idtag_vehicles (id_tag, vehicle_id, valid)
SELECT 'TB-' || m, 'vb-' || m, '(,)' FROM generate_series(1, %(meters)s) m;
INSERT INTO charging_sessions (charge_point_id, transaction_id, connector_id, meter_id, protocol, id_tag,
                               id_tag_rank, started_at, stopped_at, events)
SELECT 'cpb-' || m, d || '-' || k, 1, 'cpb-' || m || ':1', 'ocpp1.6', 'TB-' || m, 1,
       s, s + make_interval(hours => 2 + k), 5
FROM generate_series(1, %(meters)s) m, generate_series(0, %(days)s - 1) d, generate_series(0, 2) k,
     LATERAL (SELECT %(start)s::timestamptz
                     + make_interval(days => d, hours => 8 * k, mins => 17, secs => 13)) x(s);
ANALYZE;
"""


def fill(admin_url: str, meters: int, days: int) -> None:
    params = {"start": START, "end": START + timedelta(days=days), "meters": meters, "days": days}
    with psycopg.connect(admin_url, autocommit=True) as conn, conn.cursor() as cur:
        for statement in FILL.split(";\n"):
            if statement.strip():
                cur.execute(statement, params if "%(" in statement else None)


def time_route(admin_url: str, window: tuple[datetime, datetime], runs: int) -> tuple[int, float, float]:
    """(sessions, median ms, p90 ms) of the route's two queries for vehicle vb-1."""
    now = window[1]
    params: dict[str, Any] = {
        "vehicle_id": "vb-1",
        "from": window[0],
        "to": window[1],
        "limit": 101,
        "offset": 0,
    }
    timings = []
    with psycopg.connect(admin_url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("SET plan_cache_mode = force_custom_plan")
        for _ in range(runs + 1):
            started = time.perf_counter()
            rows = conn.execute(query("analytics_vehicle_sessions"), params).fetchall()
            conn.execute(query("analytics_session_energy"), _spans("vb-1", rows, now)).fetchall()
            timings.append(time.perf_counter() - started)
    timings = sorted(timings[1:])  # the first run warms the caches
    return len(rows), statistics.median(timings) * 1000, timings[int(0.9 * (len(timings) - 1))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meters", type=int, default=20)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sessions-query-") as tmp:
        server = PostgresServer(Path(tmp) / "postgres", free_port())
        server.start()
        try:
            migrate(server.database_url)
            fill(server.database_url, args.meters, args.days)
            print(f"{args.meters} meters and vehicles, 1 reading/min, {args.days} days, 3 sessions/day each")
            day = START + timedelta(days=args.days // 2)
            for label, window in (
                ("1 day", (day, day + timedelta(days=1))),
                (f"{args.days} days", (START, START + timedelta(days=args.days))),
            ):
                n, median, p90 = time_route(server.database_url, window, args.runs)
                print(f"{label:>8}: {n:3d} sessions  median {median:6.2f} ms  p90 {p90:6.2f} ms")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
