"""Console table, EXPLAIN summaries and the Markdown report of the analytics benchmark."""

from __future__ import annotations

import os
import platform
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .compare import COMPARE_HEADER
from .dataset import Fleet, LoadPhase
from .explain import EDGE_ROWS, PlanSummary
from .measure import (
    PERFORMANCE_AGAIN,
    PERFORMANCE_SQL,
    PERFORMANCE_SQL_CUSTOM,
    ExactCase,
    Latency,
    rfc3339,
)


@dataclass
class SizeResult:
    """Everything measured at one history size."""

    days: int
    loaded_days: int  # more than ``days`` when a kept data folder already held more
    devices: int
    load: LoadPhase
    database_bytes: int
    latencies: list[Latency] = field(default_factory=list)
    exact: list[ExactCase] = field(default_factory=list)
    plans: list[tuple[str, PlanSummary]] = field(default_factory=list)
    stored: str = ""  # what the stored fleet answers' job did before the requests

    @property
    def readings(self) -> int:
        """Readings in history, both streams."""
        return 2 * self.loaded_days * self.devices * 1440

    @property
    def label(self) -> str:
        """``7 days (201.6 M readings)``."""
        unit = "day" if self.loaded_days == 1 else "days"
        label = f"{self.loaded_days} {unit} ({self.readings / 1e6:.1f} M readings)"
        if self.loaded_days > self.days:  # a kept folder held more: windows in the newest days only
            label += f", windows in the newest {self.days} day(s)"
        return label


def machine(postgres_version: str) -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or "unknown"
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "CPU": f"{os.cpu_count()} cores, {cpu}",
        "memory": memory,
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "PostgreSQL": postgres_version,
    }


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def disk_free(path: Path) -> str:
    """Free space where the data lives."""
    return f"{shutil.disk_usage(path).free / 2**30:.0f} GiB free"


def gib(n: int) -> str:
    """Bytes as GiB."""
    return f"{n / 2**30:.1f} GiB"


def latency_rows(results: list[SizeResult]) -> list[list[str]]:
    """One row per history size and endpoint."""
    rows = []
    for r in results:
        for lat in r.latencies:
            rows.append(
                [
                    r.label,
                    lat.endpoint,
                    f"{lat.percentile(50):.1f}",
                    f"{lat.percentile(99):.1f}",
                    f"{max(lat.millis):.1f}",
                    str(lat.requests),
                    str(lat.clients),
                    f"{lat.rate:.0f}",
                    f"{lat.load:.1f}",
                ]
            )
    return rows


LATENCY_HEADER = [
    "history",
    "endpoint",
    "p50 ms",
    "p99 ms",
    "max ms",
    "requests",
    "clients",
    "req/s",
    "load avg",
]
LOAD_HEADER = ["phase", "days loaded", "readings inserted", "insert s", "rows/s", "vacuum s", "database"]


SUMMARY_HEADER = [
    "history",
    "endpoint",
    "HTTP p50 / p99 ms",
    "SQL p50 / p99 ms",
    "SQL custom plans p50 / p99 ms",
    "pages / request",
    "raw rows / request",
]


def _p50_p99(lat: Latency | None) -> str:
    return f"{lat.percentile(50):.1f} / {lat.percentile(99):.1f}" if lat else "-"


def summary_rows(results: list[SizeResult]) -> list[list[str]]:
    """The smallest size's performance requests at every size: through HTTP (its second pass at
    the smallest size), the query alone (plan cache as in the API, and custom plans), and what
    one request touches (EXPLAIN, custom plan)."""
    rows = []
    base = results[0].days if results else 0
    for r in results:
        by = {lat.endpoint: lat for lat in r.latencies}
        suffix = f", the {base}-day run's requests" if r.days > base else ""
        http = by.get(f"performance{suffix}" if suffix else PERFORMANCE_AGAIN)
        plan = next((p for label, p in r.plans if label == "performance (custom plan)"), None)
        rows.append(
            [
                r.label,
                "performance",
                _p50_p99(http),
                _p50_p99(by.get(PERFORMANCE_SQL + suffix)),
                _p50_p99(by.get(PERFORMANCE_SQL_CUSTOM + suffix)),
                str(plan.hit + plan.read) if plan else "-",
                str(plan.rows("raw")) if plan else "-",
            ]
        )
    return rows


def verdicts(results: list[SizeResult]) -> list[str]:
    """Whether every answer was exact and every plan read history only at the edges."""
    cases = [c for r in results for c in r.exact]
    plans = [p for r in results for _, p in r.plans if p.edges_only() is not None]
    edges = sum(bool(p.edges_only()) for p in plans)
    return [
        f"answers equal to the sums over the raw readings: {sum(c.ok for c in cases)} of {len(cases)}",
        f"performance plans that read history only at the window's edges: {edges} of {len(plans)}",
    ]


def load_rows(results: list[SizeResult]) -> list[list[str]]:
    """One row per loading phase."""
    rows = []
    for r in results:
        ph = r.load
        days = f"{ph.days[0]} .. {ph.days[-1]} ({len(ph.days)})" if ph.days else "(already loaded)"
        rows.append(
            [
                f"to {r.days} day{'s' if r.days > 1 else ''}",
                days,
                f"{ph.rows:,}",
                f"{ph.insert_s:.0f}",
                f"{ph.rows_per_s:,.0f}",
                f"{ph.vacuum_s:.0f}",
                gib(r.database_bytes),
            ]
        )
    return rows


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """A fixed-width table for the console."""
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=False)]
    lines = [
        "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (text columns left, numbers right)."""
    align = [":--" if i < 2 else "--:" for i in range(len(header))]
    return "\n".join("| " + " | ".join(r) + " |" for r in [header, align, *rows])


def plan_lines(label: str, p: PlanSummary) -> list[str]:
    """A few lines on what one plan read, and whether history was read only at the edges."""
    window = f"[{rfc3339(p.params['from'])}, {rfc3339(p.params['to'])})"
    who = f"vehicle {p.params['vehicle_id']}, " if "vehicle_id" in p.params else ""
    lines = [
        f"{label}: {p.query}, {who}window {window}, {p.mode} plan",
        f"  planning {p.planning_ms:.2f} ms, execution {p.execution_ms:.2f} ms; "
        f"shared buffers {p.hit} hit, {p.read} read ({(p.hit + p.read) * 8} KiB)",
    ]
    parts = p.partitions()
    detail = ", ".join(f"{k} {v}" for k, v in parts.items()) or "none"
    lines.append(
        f"  raw history: {p.rows('raw')} rows in {p.raw_pieces} scan executions "
        f"(most in one: {p.max_raw_rows_per_loop:.0f}), from {len(parts)} partition(s): {detail}"
    )
    lines.append(
        f"  partition scans: {sum(1 for s in p.executed if s.kind == 'raw')} ran, "
        f"{p.pruned} in the plan never ran, {p.removed_at_start} pruned when execution started"
        + (" (the others were pruned when planning)" if p.mode == "custom" else "")
    )
    rollups: dict[str, int] = {}
    for s in p.executed:
        if s.kind == "rollup":
            rollups[s.relation] = rollups.get(s.relation, 0) + s.rows + s.removed
    nodes = sorted(
        {
            f"{s.node} on {s.relation if s.kind != 'raw' else s.relation[:-9] + '_*'}"
            f" ({s.index or 'no index'})"
            for s in p.executed
        }
    )
    lines.append(
        f"  rollups: {p.rows('rollup')} rows ("
        + (", ".join(f"{k} {v}" for k, v in rollups.items()) or "none")
        + ")"
    )
    lines.append("  scans: " + "; ".join(nodes))
    seq = ", ".join(sorted({s.relation for s in p.seq_scans})) or "none"
    not_index = ", ".join(sorted({s.relation for s in p.not_index})) or "none"
    lines.append(f"  sequential scans: {seq}; history or rollup scans not driven by an index: {not_index}")
    ok = p.edges_only()
    if ok is not None:
        lines.append(
            f"  => {p.segments} segment(s): raw rows {p.rows('raw')} (bound 2 x {EDGE_ROWS} x {p.segments}"
            f" = {p.raw_bound}), rollup rows {p.rows('rollup')} (bound 24 x {p.segments}); "
            f"history read only at the window's edges: {'YES' if ok else 'NO'}"
        )
    return lines


def exact_lines(cases: list[ExactCase]) -> list[str]:
    """One line per exactness check."""
    good = sum(c.ok for c in cases)
    out = [f"exactness: {good}/{len(cases)} answers equal to the sums over the raw readings"]
    for c in cases:
        mark = "ok " if c.ok else "BAD"
        window = f"[{rfc3339(c.start)}, {rfc3339(c.end)})"
        out.append(f"  {mark} {c.vehicle} {window} meters {','.join(c.meters)}: {c.detail}")
    return out


def markdown(
    *,
    command: str,
    fleet: Fleet,
    results: list[SizeResult],
    specs: dict[str, str],
    conditions: dict[str, str],
    started: datetime,
    elapsed_s: float,
    code: str = "",
    comparison: tuple[list[str], list[list[str]]] | None = None,
) -> str:
    """The whole report as Markdown; ``comparison``: which earlier runs, and the before/after rows."""
    before: list[str] = []
    if comparison is not None:
        runs, rows = comparison
        before = [
            "## Before and after",
            "",
            "The same benchmark (this version of `bench/analytics`, the same data set and requests) on",
            "the code before the change and on this run's code (`p99 after / before` below 1: faster).",
            "",
            *runs,
            f"- after: this run, code {code}",
            "",
            markdown_table(COMPARE_HEADER, rows),
            "",
        ]
    out = [
        "# Analytics API benchmark",
        "",
        "Generated by `python -m bench.analytics`; do not edit by hand, run it again.",
        "",
        "The point to prove: the latency of `GET /v1/analytics/performance/{vehicleId}` (and of the",
        "fleet ranking) does not grow with the length of the history, because whole hours come from",
        "the hourly rollups and raw readings are read only at the window's edges.",
        "",
        "## Command",
        "",
        "```",
        command,
        "```",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC, {elapsed_s / 60:.0f} min in all"
        + (f", code {code}." if code else "."),
        "",
        *before,
        "## Summary: the same requests at each size",
        "",
        "The smallest size's measured performance requests (same vehicles, same windows, so the",
        "same rows) at every size: through HTTP (at the smallest size, their second pass), and the",
        "query alone with the plan cache as the API has it and with a custom plan every time.",
        "Pages and raw rows: what one request touches (EXPLAIN below, custom plan, a random request",
        "at that size).",
        "",
        markdown_table(SUMMARY_HEADER, summary_rows(results)),
        "",
        *[f"- {line}" for line in verdicts(results)],
        "",
        "## Latency",
        "",
        markdown_table(LATENCY_HEADER, latency_rows(results)),
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in {**specs, **conditions}.items()],
        "",
        "## Data set",
        "",
        f"- {fleet.devices:,} meters and {fleet.devices:,} vehicles, one reading per device per minute "
        f"({fleet.rows_per_day:,} rows per table per day), days ending "
        f"{Fleet.history(1)[1]:%Y-%m-%d} 00:00 UTC; the history is extended backwards from the newest day.",
        "- Generated server-side (`INSERT ... SELECT FROM generate_series`), in time order as the consumer",
        "  writes, one statement per hour of one stream, which also adds the inserted rows to the hourly",
        "  rollups with the consumer's aggregates (`merge_meter.sql` / `merge_vehicle.sql`): grouped by",
        "  device and `date_trunc('hour', ts, 'UTC')`. Day partitions from `ensure_day_partitions`;",
        "  `synchronous_commit = off` and a larger `max_wal_size` while loading only; `VACUUM (ANALYZE)`",
        "  and a checkpoint after each phase.",
        "- AC 0.05 .. 0.15 kWh per minute, DC = AC x the vehicle's efficiency (0.87 .. 0.93; 0.80 for",
        f"  every 250th vehicle) +-1 %. Meter i feeds vehicle i; {len(fleet.swaps)} pairs of meters swap",
        "  vehicles inside an hour of the newest day (so the mapping logic cuts segments at those instants).",
        "- Status rows: every device's reading of the last minute.",
        "",
        "## Method",
        "",
        "- The API is `energy-ingest analytics` (one uvicorn worker, default pool and settings,",
        "  authentication on, a reader login), a child process on the same machine; the load comes",
        "  from the benchmark process (httpx, asyncio, concurrent keep-alive clients), and latency is",
        "  measured there, so it includes HTTP, JSON and the client. A warm-up (not counted) precedes",
        "  each measurement; every answer must be 200.",
        "- Performance: random vehicles, random 24 h windows starting at a random second inside an",
        "  hour (never on the hour), within the loaded history (with 1 day the window ends up to an",
        "  hour after the last reading). Fleet ranking: random 24 h windows, `limit=50`, `51`, ... (the",
        "  API widens them to whole hours), and the fleet energy tile over random windows, both from an",
        "  API with its answer cache off; then a window asked again and again, and a dashboard's two",
        "  questions polled every 12 s, from an API with its default cache (see Before and after).",
        "- Each performance request list is sent twice: the first pass reads every request's edge pages",
        "  for the first time (from disk when they are not in the OS page cache: the 1-day history fits",
        "  in memory, 7 days of history do not), the second pass (`same requests again`) finds them in",
        "  memory. The second pass isolates what the query itself costs at each history size; EXPLAIN",
        "  below shows the pages each request touches (hit + read), which does not depend on history.",
        "- `the 1-day run's requests` rows (at the larger sizes): the very requests measured at the",
        "  smallest size (same vehicles, same windows, so the same rows), sent again with more history",
        "  loaded: the direct comparison. With 1 day of history a window's end edge lies after the last",
        "  reading, so those requests read about half the raw rows of a window inside a longer history.",
        "- `... alone (SQL)` rows: the same requests' named queries (`sql/queries/*.sql`) sent by the",
        "  benchmark on one reader connection, one at a time (prepared after five executions, as psycopg",
        "  does in the API): the database's share of a request, without HTTP, FastAPI and queueing.",
        "  `SQL custom plans`: the same, planned with its values every time. A prepared statement may",
        "  switch to a generic plan, which holds every day partition of both history tables and prunes",
        "  them only when it runs (PostgreSQL 15 locks them all each time); if `SQL` grows with history",
        "  while `SQL custom plans` does not, the growth is that fixed cost per partition, not rows read.",
        "- p50 / p99 are nearest-rank percentiles of the measured requests. The machine was shared",
        "  with other work (`load avg`: the 1-minute load average when the measurement started; it",
        "  has 2 cores): treat the figures as an upper bound.",
        "",
        "## Loading",
        "",
        markdown_table(LOAD_HEADER, load_rows(results)),
        "",
        "## EXPLAIN (ANALYZE, BUFFERS)",
        "",
        "`sql/queries/analytics_performance.sql` (and the fleet ranking) as the API runs it, from",
        "`sql.query()`, with bound parameters (a prepared statement), by the reader login; custom plan",
        "(values known when planning) and generic plan (what a prepared statement may switch to).",
        "Each on a vehicle and window not requested before it, so the buffer counts are first touches.",
        "Planning times are those of a first execution on a new connection (the API's prepared",
        "statements are planned once per connection when the generic plan is used).",
        "",
    ]
    for r in results:
        out += [f"### {r.label}", ""]
        if r.stored:
            out += [r.stored, ""]
        out += ["```"]
        for label, plan in r.plans:
            out += [*plan_lines(label, plan), ""]
        out += [*exact_lines(r.exact), "```", ""]
    last = results[-1] if results else None
    if last is not None and last.plans:
        label, plan = last.plans[0]
        if plan.text:
            out += [
                f"<details><summary>Full plan: {label}, {last.label}</summary>",
                "",
                "```",
                plan.text,
                "```",
                "",
                "</details>",
                "",
            ]
    return "\n".join(out)
