"""The run as a Markdown report (also rewritten into ``docs/benchmarks.md``) and as files."""

from __future__ import annotations

import json
from pathlib import Path

from bench.results import MODE_ORDER, BenchResult, to_json


def _num(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _met(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "not measured"}[met]


def throughput_table(result: BenchResult) -> str:
    """Median readings/s of each mode, with the spread and the number of runs."""
    lines = [
        "| mode | what it does | median readings/s | min to max | runs |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for name in MODE_ORDER:
        mode = result.modes.get(name)
        if mode is None:
            continue
        low, high = mode.spread or (None, None)
        lines.append(
            f"| {name} | {mode.description} | {_num(mode.median_rate)} | {_num(low)} to {_num(high)} "
            f"| {len(mode.runs)} |"
        )
    return "\n".join(lines)


def ratio_lines(result: BenchResult) -> str:
    """The two ratios as a sentence each."""
    r = result.ratios
    return (
        f"- pipeline / limit = **{_num(r['pipeline_over_limit'], 2)}**\n"
        f"- pipeline / naive = **{_num(r['pipeline_over_naive'], 1)}**"
    )


def latency_table(result: BenchResult) -> str:
    """p50/p99/max ingest-to-visible latency at each offered load, and how busy the
    consumers' writers were meanwhile (near 100 %: the writers are the limit there)."""
    lines = [
        "| load | target readings/s | offered readings/s | readings | p50 ms | p99 ms | max ms "
        "| writers busy | mean batch | mean write ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in result.latency:
        w = p.writer
        writer = (
            f"{w.busy:.0%} | {_num(w.mean_batch)} | {_num(w.mean_write_ms)}" if w is not None else "- | - | -"
        )
        lines.append(
            f"| {p.label} | {_num(p.target_rate)} | {_num(p.offered_rate)} | {p.readings:,} "
            f"| {_num(p.p50_ms)} | {_num(p.p99_ms)} | {_num(p.max_ms)} | {writer} |"
        )
    return "\n".join(lines)


def memory_table(result: BenchResult) -> str:
    """Peak memory (MiB) of every process in every phase."""
    phases = list(result.memory)
    procs: list[str] = []
    for per_phase in result.memory.values():
        procs += [name for name in per_phase if name not in procs]
    lines = [
        "| process | " + " | ".join(phases) + " | whole run |",
        "| --- |" + " ---: |" * (len(phases) + 1),
    ]
    for proc in procs:
        seen = [result.memory[phase].get(proc) for phase in phases]
        cells = ["-" if fig is None else f"{fig.peak_kb / 1024:,.0f}" for fig in seen]
        top = max(fig.peak_kb for fig in seen if fig is not None)
        lines.append(f"| {proc} | " + " | ".join(cells) + f" | {top / 1024:,.0f} |")
    return "\n".join(lines)


def targets_table(result: BenchResult) -> str:
    """The issue's targets, this run's value and whether it met them."""
    lines = ["| target | goal | this run | met |", "| --- | --- | ---: | --- |"]
    for t in result.targets:
        digits = 2 if t.value is not None and abs(t.value) < 100 else 0
        lines.append(f"| {t.name} | {t.goal} | {_num(t.value, digits)} | {_met(t.met)} |")
    return "\n".join(lines)


def machine_table(result: BenchResult) -> str:
    """The machine and versions."""
    lines = ["| | |", "| --- | --- |"]
    lines += [f"| {key} | {value} |" for key, value in result.machine.items()]
    return "\n".join(lines)


def markdown(result: BenchResult) -> str:
    """The whole report (figures only; the docs page adds the method around it)."""
    c = result.config
    w = result.workload
    parts = [
        f"Run `{result.command}` from {result.started_at} to {result.finished_at} "
        f"({result.seconds:,.0f} s). Fleet: {c.devices:,} meters + {c.devices:,} vehicles, "
        f"{w.get('readings', 0):,} readings ({w.get('unique', 0):,} distinct); "
        f"{c.repetitions} repetition(s) per mode, median reported.",
    ]
    if result.errors:
        parts.append("\n".join(f"> **Failed:** {text}" for text in result.errors))
    if result.warnings:
        parts.append("\n".join(f"> **Warning:** {text}" for text in result.warnings))
    parts += ["### Throughput", throughput_table(result), ratio_lines(result)]
    if result.latency:
        parts += ["### Ingest-to-visible latency", latency_table(result)]
    parts += ["### Targets (from issue 15)", targets_table(result)]
    if result.memory:
        parts += ["### Peak memory (MiB)", memory_table(result)]
    parts += ["### Machine", machine_table(result)]
    if result.notes:
        parts += ["### Notes", "\n".join(f"- {n}" for n in result.notes)]
    return "\n\n".join(parts) + "\n"


def write_files(result: BenchResult, folder: Path, json_path: Path | None) -> dict[str, Path]:
    """``bench.json`` and ``bench.md`` in ``folder`` (and the JSON at ``json_path`` too)."""
    folder.mkdir(parents=True, exist_ok=True)
    document = json.dumps(to_json(result), indent=2, ensure_ascii=False) + "\n"
    paths = {"json": folder / "bench.json", "markdown": folder / "bench.md"}
    paths["json"].write_text(document)
    paths["markdown"].write_text(f"# Benchmark {result.started_at}\n\n{markdown(result)}")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(document)
        paths["json_copy"] = json_path
    return paths
