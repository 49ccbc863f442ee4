"""Before and after: a run's latencies saved as JSON, and a table against an earlier run's.

.venv/bin/python -m bench.analytics --json before.json ...     # on the old code
.venv/bin/python -m bench.analytics --before before.json ...   # on the new code: the report
                                                               # gets a "Before and after" table
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .report import SizeResult

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
