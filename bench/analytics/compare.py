"""Before and after: a run's latencies saved as JSON, and a table against an earlier run's.

.venv/bin/python -m bench.analytics --json before.json ...     # on the old code
.venv/bin/python -m bench.analytics --before before.json ...   # on the new code: the report
                                                               # gets a "Before and after" table
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .report import SizeResult

EXPLAINED = [
    "What the rows measure, besides those described under Method:",
    "",
    "- `fleet efficiency`, `fleet energy` (and their 7-day rows): random 24 h windows (a week",
    "  long), from an API started with its answer cache off (`FLEET_CACHE_TTL_S=0`), so that",
    "  every request is computed: what a window asked for the first time costs. With 1 day of",
    "  history every window rounds to [day start, next day 01:00): a whole UTC day (read from",
    "  the daily rollups before migration 0017, from two rows of running totals per device",
    "  since); with 7 days most 24 h windows hold no whole day.",
    "- `fleet efficiency, one window asked again`: the last 24 h of the history, `limit=50`, from",
    "  4 clients, back to back: a window asked more often than the cache keeps an answer.",
    "- `fleet ranking + energy, last 24 h (7 days), polled every 12 s`: a dashboard's two",
    "  questions about the same window, asked together every 12 s (longer than the 10 s an",
    "  answer is kept), 6 times after the first (unmeasured) one. The code before computes",
    "  both answers at each poll (its cache has expired; the energy tile had no cache); the code",
    "  after keeps the window warm in the background and answers from memory (the answer's",
    "  `asOf` is at most `FLEET_CACHE_TTL_S` old).",
    "- `fleet summary`: `GET /v1/fleet/summary` (the hot status tables, one row per device).",
    "- `SQL` rows: the ranking query alone; the code after adds the fleet's totals to it",
    "  (window aggregates), which the energy tile reads.",
    "- The machine is shared with other work (see the load average of each row in the Latency",
    "  table, 2 cores): the runs were made back to back, before then after, for each size.",
]

COMPARE_HEADER = ["history", "endpoint", "before p50 / p99 ms", "after p50 / p99 ms", "p99 after / before"]


def git_commit(root: Path) -> str:
    """The checkout's commit (``+ changes`` when its tracked files differ from it)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=root, check=False).returncode != 0
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" + changes" if dirty else "")


def to_json(command: str, code: str, results: list[SizeResult]) -> dict[str, Any]:
    """What a later run compares against: per history size and endpoint, p50 / p99."""
    return {
        "command": command,
        "code": code,
        "sizes": [
            {
                "days": r.loaded_days,
                "label": r.label,
                "latencies": {
                    lat.endpoint: {
                        "p50": lat.percentile(50),
                        "p99": lat.percentile(99),
                        "requests": lat.requests,
                    }
                    for lat in r.latencies
                },
            }
            for r in results
        ],
    }


def save(path: Path, command: str, code: str, results: list[SizeResult]) -> None:
    """Write :func:`to_json` to ``path``."""
    path.write_text(json.dumps(to_json(command, code, results), indent=2) + "\n")


def load(paths: list[Path]) -> list[dict[str, Any]]:
    """Earlier runs' JSON (several: e.g. one per history size)."""
    return [json.loads(p.read_text()) for p in paths]


def compare_rows(before: list[dict[str, Any]], results: list[SizeResult]) -> list[list[str]]:
    """Every endpoint measured at a size both in this run and in an earlier one."""
    earlier: dict[tuple[int, str], dict[str, Any]] = {}
    for run in before:
        for size in run["sizes"]:
            for endpoint, lat in size["latencies"].items():
                earlier[(int(size["days"]), endpoint)] = lat
    rows = []
    for r in results:
        for lat in r.latencies:
            old = earlier.get((r.loaded_days, lat.endpoint))
            if old is None:
                continue
            p99 = lat.percentile(99)
            rows.append(
                [
                    r.label,
                    lat.endpoint,
                    f"{old['p50']:.1f} / {old['p99']:.1f}",
                    f"{lat.percentile(50):.1f} / {p99:.1f}",
                    f"{p99 / old['p99']:.2f}" if old["p99"] else "-",
                ]
            )
    return rows


def before_lines(before: list[dict[str, Any]]) -> list[str]:
    """Which runs the "before" column comes from."""
    return [f"- before: `{run['command']}` on code {run['code']}" for run in before]


def _rows_from_json(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[list[str]]:
    earlier = {
        (int(size["days"]), endpoint): lat
        for run in before
        for size in run["sizes"]
        for endpoint, lat in size["latencies"].items()
    }
    rows = []
    for run in after:
        for size in run["sizes"]:
            for endpoint, lat in size["latencies"].items():
                old = earlier.get((int(size["days"]), endpoint))
                if old is None:
                    continue
                rows.append(
                    [
                        size["label"],
                        endpoint,
                        f"{old['p50']:.1f} / {old['p99']:.1f}",
                        f"{lat['p50']:.1f} / {lat['p99']:.1f}",
                        f"{lat['p99'] / old['p99']:.2f}" if old["p99"] else "-",
                    ]
                )
    return rows


def section(
    before: list[dict[str, Any]], after: list[dict[str, Any]], notes: Sequence[str] = ()
) -> list[str]:
    """The report's "Before and after" section, from saved runs (``notes``: lines about them)."""
    from .report import markdown_table  # report imports this module

    return [
        "## Before and after",
        "",
        "The same benchmark (this version of `bench/analytics`, the same data set and requests) on",
        "the code before the change and after it (`p99 after / before` below 1: faster).",
        "",
        *before_lines(before),
        *[f"- after: `{run['command']}` on code {run['code']}" for run in after],
        "",
        markdown_table(COMPARE_HEADER, _rows_from_json(before, after)),
        "",
        *EXPLAINED,
        *[f"- {n}" for n in notes],
        "",
    ]


def replace_section(report: str, lines: list[str]) -> str:
    """``report`` with its "Before and after" section replaced (or put before "## Summary")."""
    out = report.split("\n")
    start = next((i for i, line in enumerate(out) if line == "## Before and after"), None)
    if start is None:
        start = end = next(i for i, line in enumerate(out) if line.startswith("## Summary"))
    else:
        end = next((i for i in range(start + 1, len(out)) if out[i].startswith("## ")), len(out))
    return "\n".join([*out[:start], *lines, *out[end:]])


def main(argv: list[str] | None = None) -> int:
    """Put a before/after table from saved runs into a generated report."""
    import argparse

    ap = argparse.ArgumentParser(description="before/after table from saved runs (--json) into a report")
    ap.add_argument("--before", type=Path, nargs="+", required=True, help="runs on the old code")
    ap.add_argument("--after", type=Path, nargs="+", required=True, help="runs on the new code")
    ap.add_argument("--into", type=Path, required=True, help="the report to put the table into")
    ap.add_argument("--note", action="append", default=[], help="a line about the runs (repeatable)")
    a = ap.parse_args(argv)
    lines = section(load(a.before), load(a.after), a.note)
    a.into.write_text(replace_section(a.into.read_text(), lines))
    print(f"before/after table written into {a.into}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
