"""The PNG chart: throughput per mode, and the latency curve."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from bench.results import MODE_ORDER, BenchResult
from bench.stats import LATENCY_P99_GOAL_MS

COLOURS = {"limit": "#4c72b0", "naive": "#c44e52", "pipeline": "#55a868"}


def write_chart(result: BenchResult, path: Path) -> Path:
    """Draw the run into ``path`` (PNG) and return it."""
    # A bare Figure renders with the Agg canvas: no pyplot, no global backend state.
    fig = Figure(figsize=(12, 4.8))
    left, right = fig.subplots(1, 2)
    names = [n for n in MODE_ORDER if n in result.modes and result.modes[n].runs]
    medians = [result.modes[n].median_rate or 0.0 for n in names]
    lows = [m - (result.modes[n].spread or (m, m))[0] for n, m in zip(names, medians, strict=True)]
    highs = [(result.modes[n].spread or (m, m))[1] - m for n, m in zip(names, medians, strict=True)]
    bars = left.bar(names, medians, yerr=[lows, highs], capsize=6, color=[COLOURS[n] for n in names])
    left.bar_label(bars, labels=[f"{m:,.0f}/s" for m in medians], padding=3)
    left.set_yscale("log")
    if medians:
        left.set_ylim(max(1.0, min(medians) / 4), max(medians) * 4)
    left.set_ylabel("readings/s (median; bars: min-max)")
    r = result.ratios
    shown = [f"{k.replace('_over_', '/')} {v:.2f}" for k, v in r.items() if v is not None]
    left.set_title("Throughput" + (f" ({', '.join(shown)})" if shown else ""))
    left.grid(axis="y", which="both", alpha=0.3)

    if result.latency:
        rates = [p.offered_rate for p in result.latency]
        right.plot(rates, [p.p50_ms for p in result.latency], marker="o", label="p50")
        right.plot(rates, [p.p99_ms for p in result.latency], marker="s", label="p99")
        right.axhline(
            LATENCY_P99_GOAL_MS,
            color="grey",
            linestyle="--",
            label=f"p99 goal at 10,000/s: {LATENCY_P99_GOAL_MS:g} ms",
        )
        right.set_xlabel("offered readings/s")
        right.set_ylabel("ingest-to-visible, ms")
        right.legend()
    else:
        right.text(0.5, 0.5, "latency not measured", ha="center", va="center", transform=right.transAxes)
    right.set_title("Ingest-to-visible latency")
    right.grid(alpha=0.3)

    fig.suptitle(f"energy-ingest bench, {result.started_at} ({result.machine.get('cores')} cores)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path
