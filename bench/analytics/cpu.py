"""CPU per performance request: the API process, its PostgreSQL backends and the client.

Latency on a shared two-core machine moves with everyone else's load; CPU time per request
(from /proc) does much less, so two versions of the code can be compared on a busy machine
by running this from each checkout in turn, on a data folder that ``bench.analytics --keep``
left behind:

    .venv/bin/python -m bench.analytics.cpu --dir /tmp/ab/d7 --days 7 --requests 1200
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import time
from pathlib import Path

import psycopg

from bench.cpu import tree_cpu_seconds
from common.tokens import Scope, issue
from devstack.postgres import PostgresServer
from devstack.stack import free_port
from energy_ingest.logins import ServiceRole, ensure_login
from energy_ingest.procs import cpu_seconds

from .dataset import Fleet
from .measure import AnalyticsApi, measure, performance_requests

_BACKENDS = "SELECT pid FROM pg_stat_activity WHERE application_name = 'energy-analytics'"


def main(argv: list[str] | None = None) -> int:
    """Measure once and print one line."""
    ap = argparse.ArgumentParser(description="CPU per performance request (API, PostgreSQL, client)")
    ap.add_argument("--dir", type=Path, required=True, help="the --dir of a kept bench.analytics run")
    ap.add_argument("--days", type=int, required=True, help="days of history in it")
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=1200)
    ap.add_argument("--clients", type=int, default=4)
    a = ap.parse_args(argv)
    data = a.dir.absolute() / "analytics-bench"
    pg = PostgresServer(data / "postgres", int((data / "postgres-port").read_text()))
    pg.start()
    try:
        url = ensure_login(pg.database_url, "bench_reader", secrets.token_urlsafe(24), ServiceRole.READER)
        secret = secrets.token_urlsafe(32)
        env = {
            "ANALYTICS_DATABASE_URL": url,
            "MAPPING_DATABASE_URL": url,
            "AUTH_SECRET": secret,
            "LOG_LEVEL": "WARNING",
        }
        token = issue(secret, Scope.ANALYST, "bench")
        rng = random.Random(7)  # noqa: S311 (reproducible choices)
        fleet, history = Fleet(a.devices), Fleet.history(a.days)
        warmup = performance_requests(rng, fleet, history, 100)
        measured = performance_requests(rng, fleet, history, a.requests)
        with AnalyticsApi(env, free_port(), data / "analytics-cpu.log") as api:
            measure(api.base_url, token, "warm-up", [], warmup, a.clients)
            with psycopg.connect(pg.database_url) as conn:
                backends = [int(r[0]) for r in conn.execute(_BACKENDS).fetchall()]
            api0, pg0, me0 = tree_cpu_seconds(api.pid), sum(map(cpu_seconds, backends)), time.process_time()
            lat = measure(api.base_url, token, "performance", [], measured, a.clients)
            api1, pg1, me1 = tree_cpu_seconds(api.pid), sum(map(cpu_seconds, backends)), time.process_time()
        n = lat.requests
        print(
            f"CPU ms per request: API {(api1 - api0) / n * 1000:.2f}, PostgreSQL {(pg1 - pg0) / n * 1000:.2f}"
            f" ({len(backends)} backends), client {(me1 - me0) / n * 1000:.2f}; latency p50"
            f" {lat.percentile(50):.1f} ms, p99 {lat.percentile(99):.1f} ms, {lat.rate:.0f} req/s;"
            f" load {os.getloadavg()[0]:.1f}"
        )
    finally:
        pg.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
