"""Analytics API latency at 1 day and at 7 days of history: it must not grow with history.

Starts its own PostgreSQL (devstack, in a temporary folder or under ``--dir``), migrates,
creates a reader login and loads history for N meters and N vehicles (one reading per
device per minute) straight into the tables, server-side, with the hourly rollups built
as the consumer builds them. Then, for each history size (``--days``, e.g. 1 then 7):

1. starts the analytics API as a child process (one uvicorn worker) and measures, through
   HTTP from this process, p50 and p99 of ``GET /v1/analytics/performance/{vehicleId}``
   (random vehicles, random 24 h windows starting inside an hour) and of
   ``GET /v1/analytics/fleet/efficiency`` (24 h windows, ``limit=50``);
2. checks a few answers against sums over the raw readings;
3. captures ``EXPLAIN (ANALYZE, BUFFERS)`` of the performance query (custom and generic
   plans) and of the fleet ranking, and summarises what they read.

Prints a table and writes it, with the EXPLAIN summaries, the load times and the machine,
to ``docs/analytics-benchmark.md`` (not with ``--quick`` unless ``--out`` is given).

    .venv/bin/python -m bench.analytics --quick        # 1,000 devices, 1 and 2 days
    .venv/bin/python -m bench.analytics                # 10,000 devices, 1 and 7 days

The full run loads 201.6 M readings (about 25 GiB on disk) and takes about half an hour on
two cores; ``--dir D --keep`` keeps the data in ``D/analytics-bench`` and a later run with
the same ``--dir`` and ``--devices`` resumes from what is there.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import shlex
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from analytics_api.answer_store import StorePlan, StoreReport, refresh
from analytics_api.fleet_answers import RANKING_QUERY
from bench.analytics.compare import COMPARE_HEADER, before_lines, compare_rows, git_commit, load, save
from bench.analytics.dataset import HOUR, Fleet, Loader, State
from bench.analytics.explain import PlanSummary, explain, segments
from bench.analytics.fleet import (
    FLEET_ENERGY,
    FLEET_ENERGY_WEEK,
    POLL_EVERY_S,
    POLLS,
    dashboard_polls,
    energy_requests,
)
from bench.analytics.measure import (
    FLEET,
    FLEET_REPEATED,
    FLEET_SQL,
    FLEET_WEEK,
    FLEET_WEEK_SQL,
    PERFORMANCE,
    PERFORMANCE_AGAIN,
    PERFORMANCE_SQL,
    PERFORMANCE_SQL_CUSTOM,
    SUMMARY,
    WEEK,
    WINDOW,
    AnalyticsApi,
    Latency,
    Request,
    exactness,
    fleet_requests,
    measure,
    measure_sql,
    performance_requests,
    random_window,
    repeated_fleet_requests,
    summary_requests,
)
from bench.analytics.report import (
    LATENCY_HEADER,
    LOAD_HEADER,
    SUMMARY_HEADER,
    SizeResult,
    disk_free,
    exact_lines,
    latency_rows,
    load_average,
    load_rows,
    machine,
    markdown,
    plan_lines,
    summary_rows,
    text_table,
    verdicts,
)
from common.tokens import Scope, issue
from consumer.retention_job import RetentionSettings
from devstack.postgres import PostgresServer
from devstack.stack import free_port
from energy_ingest.logins import ServiceRole, ensure_login
from energy_ingest.migrate import migrate

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "docs" / "analytics-benchmark.md"
READER = "bench_reader"


@dataclass(frozen=True)
class Options:
    """The parsed command line, with ``--quick`` applied."""

    devices: int
    days: list[int]
    requests: int
    fleet_requests: int
    warmup: int
    clients: int
    jobs: int
    seed: int
    dir: Path | None
    keep: bool
    out: Path | None
    json: Path | None
    before: list[Path]
    code: str | None
    stored_answers: bool = True


def parse(argv: list[str] | None) -> Options:
    """Command-line options."""
    ap = argparse.ArgumentParser(
        description="Analytics API p50/p99 at growing history sizes (loads its own PostgreSQL).",
    )
    ap.add_argument("--devices", type=int, default=None, help="meters and vehicles each (default 10000)")
    ap.add_argument("--days", default=None, help="history sizes in days, ascending (default 1,7)")
    ap.add_argument("--requests", type=int, default=None, help="measured performance requests per size (300)")
    ap.add_argument(
        "--fleet-requests", type=int, default=None, help="measured fleet requests (requests / 10)"
    )
    ap.add_argument(
        "--warmup", type=int, default=30, help="unmeasured performance requests first (default: %(default)s)"
    )
    ap.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients (default: %(default)s)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel loading connections (default: %(default)s)")
    ap.add_argument(
        "--seed", type=int, default=1, help="random seed of vehicles and windows (default: %(default)s)"
    )
    ap.add_argument(
        "--dir", type=Path, default=None, help="put the data in DIR/analytics-bench (default: a temp dir)"
    )
    ap.add_argument("--keep", action="store_true", help="do not delete the data at the end")
    ap.add_argument(
        "--no-stored-answers",
        dest="stored_answers",
        action="store_false",
        help="measure the fleet without the stored answers (every first-time window by the live query)",
    )
    ap.add_argument(
        "--quick", action="store_true", help="smoke run: 1,000 devices, 1 and 2 days, 100 requests"
    )
    ap.add_argument(
        "--out", type=Path, default=None, help=f"Markdown report (default {DEFAULT_OUT.relative_to(ROOT)})"
    )
    ap.add_argument("--json", type=Path, default=None, help="also save the latencies as JSON (for --before)")
    ap.add_argument("--code", default=None, help="names the code measured (default: its git commit)")
    ap.add_argument(
        "--before",
        type=Path,
        action="append",
        default=[],
        help="an earlier run's --json (repeatable): the report gets a before/after table",
    )
    a = ap.parse_args(argv)
    devices = a.devices or (1000 if a.quick else 10_000)
    days = sorted({int(d) for d in (a.days or ("1,2" if a.quick else "1,7")).split(",")})
    for d in days:
        Fleet.days(d)  # validates the range
    requests = a.requests or (100 if a.quick else 300)
    out = a.out if a.out is not None else (None if a.quick else DEFAULT_OUT)
    return Options(
        devices=devices,
        days=days,
        requests=requests,
        fleet_requests=a.fleet_requests or max(10, requests // 10),
        warmup=a.warmup,
        clients=a.clients,
        jobs=a.jobs,
        seed=a.seed,
        dir=a.dir,
        keep=a.keep,
        out=out,
        json=a.json,
        before=list(a.before),
        code=a.code,
        stored_answers=a.stored_answers,
    )


def say(message: str) -> None:
    """Progress on stdout, timestamped."""
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


async def _refresh(url: str, plan: StorePlan) -> StoreReport:
    async with (
        await psycopg.AsyncConnection.connect(url, autocommit=True) as read,
        await psycopg.AsyncConnection.connect(url, autocommit=True) as write,
    ):
        return await refresh(read, write, plan)


class Bench:
    """One run: the server, the data set, and the measurements at each size."""

    def __init__(self, opts: Options, data: Path, pg: PostgresServer) -> None:
        self.opts = opts
        self.data = data
        self.pg = pg
        self.fleet = Fleet(opts.devices)
        self.state = State.load(data / "state.json", opts.devices)
        self.loader = Loader(pg.database_url, self.fleet, self.state, opts.jobs)
        self.auth_secret = secrets.token_urlsafe(32)
        self.reader_url = ""

    def setup(self) -> None:
        """Migrations, the reader login, the meter mapping."""
        migrate(self.pg.database_url)
        self.reader_url = ensure_login(
            self.pg.database_url, READER, secrets.token_urlsafe(24), ServiceRole.READER
        )
        self.loader.load_mapping()

    def _store_answers(self, days: int) -> str:
        """What the retention job would have stored by now (the fleet's windows of the history,
        analytics_api.answer_store), or none with ``--no-stored-answers``."""
        with psycopg.connect(self.pg.database_url, autocommit=True) as conn:
            conn.execute("DELETE FROM fleet_answer")
        if not self.opts.stored_answers:
            say("stored fleet answers: none (--no-stored-answers)")
            return "Stored fleet answers: none (`--no-stored-answers`): every fleet window by the live query."
        job = RetentionSettings(
            database_url=self.pg.database_url, fleet_answer_days=days, fleet_answer_budget_s=1e9
        )
        plan = job.store_plan()  # the job's lengths, grace and threshold
        say(f"stored fleet answers: the job's windows of {days} day(s), lengths {plan.lengths_h} h")
        report = asyncio.run(_refresh(self.pg.database_url, plan))
        text = (
            f"Stored fleet answers: {report.computed} windows ({', '.join(map(str, plan.lengths_h))} h, "
            f"ending at each hour of the history) computed in {report.seconds:.0f} s before the requests, "
            "as the retention job keeps them (FLEET_ANSWER_* defaults)."
        )
        say(text)
        return text

    def size(self, days: int) -> SizeResult:
        """Load up to ``days`` of history, then measure."""
        say(f"history of {days} day(s): loading what is missing")
        phase = self.loader.load_days(Fleet.days(days), progress=say)
        self.loader.load_status()
        result = SizeResult(days, len(self.state.days), self.opts.devices, phase, self._database_bytes())
        say(f"database {result.database_bytes / 2**30:.1f} GiB; load average {load_average()}")
        result.stored = self._store_answers(days)
        rng = random.Random(self.opts.seed * 1000 + days)  # noqa: S311 (reproducible choices)
        history = Fleet.history(days)
        env = {
            "ANALYTICS_DATABASE_URL": self.reader_url,
            "MAPPING_DATABASE_URL": self.reader_url,
            "AUTH_SECRET": self.auth_secret,
            "LOG_LEVEL": "WARNING",
            # a week's ranking by the hourly rollups alone takes longer than the default 5 s here
            "STATEMENT_TIMEOUT_MS": "60000",
        }
        token = issue(self.auth_secret, Scope.ANALYST, "bench")
        o = self.opts
        base = o.days[0]
        with AnalyticsApi(env, free_port(), self.data / "analytics.log") as api:
            say(f"performance: {o.warmup} warm-up + {o.requests} requests, {o.clients} clients, twice")
            warmup = performance_requests(rng, self.fleet, history, o.warmup)
            perf = performance_requests(rng, self.fleet, history, o.requests)
            self._record(result, measure(api.base_url, token, PERFORMANCE, warmup, perf, o.clients))
            self._record(result, measure(api.base_url, token, PERFORMANCE_AGAIN, [], perf, o.clients))
            replay = self._performance_requests_of(base) if days > base else []
            if replay:  # the very requests of the smallest size: the same rows, more history
                label = f"performance, the {base}-day run's requests"
                self._record(result, measure(api.base_url, token, label, [], replay, o.clients))
        # cold answers: the API's answer cache off, so that every request is computed
        with AnalyticsApi({**env, "FLEET_CACHE_TTL_S": "0"}, free_port(), self.data / "analytics.log") as api:
            say(f"fleet efficiency (cache off): 3 warm-up + {o.fleet_requests} requests, {o.clients} clients")
            warmup = fleet_requests(rng, history, 3)
            fleet = fleet_requests(rng, history, o.fleet_requests)
            self._record(result, measure(api.base_url, token, FLEET, warmup, fleet, o.clients))
            energy = energy_requests(rng, history, o.fleet_requests + 3)
            self._record(
                result, measure(api.base_url, token, FLEET_ENERGY, energy[:3], energy[3:], o.clients)
            )
            week: list[Request] = []
            if days >= 7:
                say(f"fleet efficiency and energy, 7-day windows: 3 warm-up + {o.fleet_requests} requests")
                week = fleet_requests(rng, history, o.fleet_requests + 3, WEEK)
                self._record(result, measure(api.base_url, token, FLEET_WEEK, week[:3], week[3:], o.clients))
                energy = energy_requests(rng, history, o.fleet_requests + 3, WEEK)
                self._record(
                    result, measure(api.base_url, token, FLEET_ENERGY_WEEK, energy[:3], energy[3:], o.clients)
                )
        with AnalyticsApi(env, free_port(), self.data / "analytics.log") as api:
            again = repeated_fleet_requests(history, o.requests)
            say(f"fleet efficiency, one window: 3 warm-up + {o.requests} requests, {o.clients} clients")
            self._record(result, measure(api.base_url, token, FLEET_REPEATED, again[:3], again, o.clients))
            say(f"dashboard: ranking + energy of the last 24 h every {POLL_EVERY_S:.0f} s, {POLLS} times")
            self._record(result, dashboard_polls(api.base_url, token, history, week=False))
            if days >= 7:
                say(f"dashboard: ranking + energy, last 7 days, every {POLL_EVERY_S:.0f} s, {POLLS} times")
                self._record(result, dashboard_polls(api.base_url, token, history, week=True))
            say(f"fleet summary: 30 warm-up + {o.requests} requests, {o.clients} clients")
            summary = summary_requests(o.requests)
            self._record(result, measure(api.base_url, token, SUMMARY, summary[:30], summary, o.clients))
            result.exact = exactness(
                self.pg.database_url, api.base_url, token, self._exact_cases(rng, history)
            )
        say("the same requests' queries alone, without HTTP, one at a time")
        name, url = "analytics_performance", self.reader_url
        self._record(result, measure_sql(url, name, PERFORMANCE_SQL, perf))
        suffix = f", the {base}-day run's requests" if replay else ""
        if replay:
            self._record(result, measure_sql(url, name, PERFORMANCE_SQL + suffix, replay))
        custom = measure_sql(
            url, name, PERFORMANCE_SQL_CUSTOM + suffix, replay or perf, plan_cache_mode="force_custom_plan"
        )
        self._record(result, custom)
        self._record(result, measure_sql(url, "analytics_fleet_efficiency", FLEET_SQL, fleet))
        if week:
            self._record(result, measure_sql(url, "analytics_fleet_efficiency", FLEET_WEEK_SQL, week[3:]))
        result.plans = self._plans(rng, history)
        for label, plan in result.plans:
            print("\n".join(plan_lines(label, plan)))
        print("\n".join(exact_lines(result.exact)))
        return result

    def _performance_requests_of(self, days: int) -> list[Request]:
        """The measured performance requests of the run at ``days`` (same seed, same draws)."""
        rng = random.Random(self.opts.seed * 1000 + days)  # noqa: S311 (reproducible choices)
        performance_requests(rng, self.fleet, Fleet.history(days), self.opts.warmup)
        return performance_requests(rng, self.fleet, Fleet.history(days), self.opts.requests)

    @staticmethod
    def _record(result: SizeResult, latency: Latency) -> None:
        result.latencies.append(latency)
        say(f"  {latency.endpoint}: p50 {latency.percentile(50):.1f} ms, p99 {latency.percentile(99):.1f} ms")

    def _exact_cases(
        self, rng: random.Random, history: tuple[datetime, datetime]
    ) -> list[tuple[str, datetime, datetime]]:
        """Both vehicles of the first swapped pair over a window containing the swap, and three
        random vehicles and windows."""
        cases = []
        if self.fleet.swaps:
            s = self.fleet.swaps[0]
            lo = max(history[0] + timedelta(minutes=13, seconds=7), s.at - timedelta(hours=5, minutes=13))
            cases += [(self.fleet.vehicle(s.a), lo, lo + WINDOW), (self.fleet.vehicle(s.b), lo, lo + WINDOW)]
        for _ in range(3):
            lo, hi = random_window(rng, *history)
            cases.append((self.fleet.vehicle(rng.randint(1, self.fleet.devices)), lo, hi))
        return cases

    def _plans(self, rng: random.Random, history: tuple[datetime, datetime]) -> list[tuple[str, PlanSummary]]:
        """EXPLAIN (ANALYZE, BUFFERS): the performance query, custom and generic plan, on fresh
        vehicles and windows; the re-mapped case; the fleet ranking."""
        out = []
        for mode, text in (("custom", True), ("generic", False)):
            vid = self.fleet.vehicle(rng.randint(1, self.fleet.devices))
            lo, hi = random_window(rng, *history)
            plan = explain(
                self.reader_url,
                "analytics_performance",
                {"vehicle_id": vid, "from": lo, "to": hi},
                "generic" if mode == "generic" else "custom",
                segments=segments(self.pg.database_url, vid, lo, hi),
                text=text,
            )
            out.append((f"performance ({mode} plan)", plan))
        if self.fleet.swaps:
            s = self.fleet.swaps[-1]
            vid = self.fleet.vehicle(s.a)
            lo = max(history[0] + timedelta(minutes=41, seconds=3), s.at - timedelta(hours=7, minutes=41))
            plan = explain(
                self.reader_url,
                "analytics_performance",
                {"vehicle_id": vid, "from": lo, "to": lo + WINDOW},
                "custom",
                segments=segments(self.pg.database_url, vid, lo, lo + WINDOW),
            )
            out.append(("performance, meters swapped inside the window (custom plan)", plan))
        lo, _ = random_window(rng, *history)
        start = lo.replace(minute=0, second=0, microsecond=0)  # the API widens to whole hours
        end = start + WINDOW + (HOUR if lo != start else timedelta())
        plan = explain(
            self.reader_url,
            RANKING_QUERY,
            {"from": start, "to": end, "limit": 50, "threshold": 0.85},
            "custom",
        )
        out.append(("fleet efficiency (custom plan)", plan))
        return out

    def _database_bytes(self) -> int:
        with psycopg.connect(self.pg.database_url) as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else 0

    def postgres_version(self) -> str:
        """``15.18 (Debian 15.18-0+deb12u1)``."""
        with psycopg.connect(self.pg.database_url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "unknown"


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every answer was exact and every plan read only the edges."""
    opts = parse(argv)
    # Stop cleanly (server stopped, temporary data deleted) on SIGTERM, and on Ctrl-C even when
    # started in the background by a shell that ignores SIGINT for its background jobs.
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    command = shlex.join(
        [".venv/bin/python", "-m", "bench.analytics", *(sys.argv[1:] if argv is None else argv)]
    )
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    if opts.dir is not None:
        data = opts.dir.absolute() / "analytics-bench"
        data.mkdir(parents=True, exist_ok=True)
    else:
        data = Path(tempfile.mkdtemp(prefix="analytics-bench-"))
    say(f"data in {data} ({disk_free(data)}); load average {load_average()}")
    load_before = load_average()
    port_file = data / "postgres-port"
    port = int(port_file.read_text()) if port_file.exists() else free_port()
    port_file.write_text(f"{port}\n")
    pg = PostgresServer(data / "postgres", port)
    results: list[SizeResult] = []
    try:
        pg.start()
        bench = Bench(opts, data, pg)
        bench.setup()
        for days in opts.days:
            results.append(bench.size(days))
        specs = machine(bench.postgres_version())
    finally:
        pg.stop()
        if not opts.keep:
            shutil.rmtree(data, ignore_errors=True)
        else:
            say(f"data kept in {data}")
    print()
    print(text_table(LATENCY_HEADER, latency_rows(results)))
    print()
    print(text_table(SUMMARY_HEADER, summary_rows(results)))
    print("\n".join(verdicts(results)))
    print()
    print(text_table(LOAD_HEADER, load_rows(results)))
    conditions = {
        "load average (1/5/15 min) at start": load_before,
        "load average at end": load_average(),
        "PostgreSQL settings": "devstack's (shared_buffers 256MB, fsync on, synchronous_commit on)",
    }
    code = opts.code or git_commit(ROOT)
    if opts.json is not None:
        save(opts.json, command, code, results)
        say(f"latencies saved to {opts.json}")
    before = load(opts.before)
    rows = compare_rows(before, results)
    if rows:
        print()
        print(text_table(COMPARE_HEADER, rows))
    if opts.out is not None:
        opts.out.write_text(
            markdown(
                command=command,
                fleet=Fleet(opts.devices),
                results=results,
                specs=specs,
                conditions=conditions,
                started=started,
                elapsed_s=time.perf_counter() - t0,
                code=code,
                comparison=(before_lines(before), rows) if rows else None,
            )
        )
        say(f"report written to {opts.out}")
    exact = all(c.ok for r in results for c in r.exact)
    edges = all(p.edges_only() is not False for r in results for _, p in r.plans)
    say(
        f"done in {(time.perf_counter() - t0) / 60:.1f} min; answers exact: {exact}; "
        f"history read only at the edges: {edges}"
    )
    return 0 if exact and edges else 1


if __name__ == "__main__":
    sys.exit(main())
