"""CPU seconds of one process tree from /proc, for benches that share a busy machine.

Sampling by pid (not by command line, as ``bench.profile`` does) counts only the
processes a bench started itself, not a colleague's Kafka or PostgreSQL.
"""

from __future__ import annotations

import os
from pathlib import Path

from energy_ingest.procs import cpu_seconds


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry))
    return out


def tree_cpu_seconds(pid: int | None) -> float:
    """User + system CPU of ``pid``, its reaped children and its live children (one level).

    One level is enough for a postmaster (its backends and workers are its children); a
    child that exits between two samples moves from "live" to "reaped", so deltas hold.
    """
    if pid is None:
        return 0.0
    return cpu_seconds(pid) + sum(cpu_seconds(child) for child in _children(pid))
