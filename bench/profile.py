"""Where the pipeline's CPU goes: per process, per reading, plus py-spy profiles.

Runs ``energy-ingest bench --modes pipeline`` (its own Kafka and PostgreSQL), reads the
CPU time of every process of the system when the measured runs start and end, and, when
py-spy is installed, records the gateway and the first consumer for ``--spy-seconds``. Prints CPU
microseconds per reading for the load generator, gateway, consumer(s), Kafka and
PostgreSQL over the measured runs (after the bench's warm-up), with the share of the
broker's JIT compiler threads, then the functions with the most samples.

    .venv/bin/python -m bench.profile --repetitions 3 -- --batch-size 500
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from energy_ingest.procs import cpu_seconds, stat_cpu_seconds

HZ = os.sysconf("SC_CLK_TCK")
KINDS = ("bench", "gateway", "consumer", "kafka", "postgres")


def kind_of(cmdline: str) -> str | None:
    """Which part of the system a process is, from its command line."""
    if "java" in cmdline and "kafka.Kafka" in cmdline:
        return "kafka"
    if cmdline.startswith(("postgres", "/usr/lib/postgresql")):
        return "postgres"
    for kind in ("gateway", "consumer", "bench"):
        if re.search(rf"(energy_ingest\.cli|energy-ingest) {kind}\b", cmdline):
            return kind
    return None


def processes() -> Iterator[tuple[int, str, float]]:
    """(pid, kind, CPU seconds including reaped children) of every process of the system."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        kind = kind_of(raw.replace(b"\0", b" ").decode(errors="replace"))
        if kind is not None:
            yield int(entry), kind, cpu_seconds(int(entry))


@dataclass(frozen=True)
class Sample:
    """CPU seconds per kind, of the broker's JIT compiler threads, and idle, at one moment."""

    at: float
    cpu: dict[str, float]
    kafka_jit: float
    idle: float


def kafka_jit_seconds(pid: int) -> float:
    """CPU seconds of a JVM's compiler threads (``C1/C2 CompilerThread<n>``)."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            compiler = "Compiler" in (task / "comm").read_text()
        except OSError:
            continue
        if compiler:
            total += stat_cpu_seconds(task / "stat")
    return total


def sample() -> Sample:
    """CPU time of every process of the system now."""
    per_kind: dict[str, float] = {}
    jit = 0.0
    for pid, kind, cpu in processes():
        per_kind[kind] = per_kind.get(kind, 0.0) + cpu
        if kind == "kafka":
            jit += kafka_jit_seconds(pid)
    idle = int(Path("/proc/stat").read_text().split()[4]) / HZ
    return Sample(time.monotonic(), per_kind, jit, idle)


def spy(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes] | None:
    """py-spy record (raw collapsed stacks) of one process, if py-spy is installed."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        return None
    argv = [exe, "record", "-p", str(pid), "-d", str(seconds), "-r", "200", "-f", "raw", "-o", str(out)]
    return subprocess.Popen([*argv, "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def top_functions(raw: Path, n: int) -> list[tuple[float, str]]:
    """Share of samples per innermost frame (self time) in a py-spy raw file."""
    self_time: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            self_time[stack.split(";")[-1]] += int(count)
    total = sum(self_time.values()) or 1
    return [(100 * c / total, f) for f, c in self_time.most_common(n)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repetitions", type=int, default=3, help="pipeline runs (default: %(default)s)")
    parser.add_argument("--spy-seconds", type=int, default=20, help="py-spy duration (default: %(default)s)")
    parser.add_argument("--top", type=int, default=15, help="functions listed per process")
    parser.add_argument("--out", type=Path, help="keep the py-spy files here (default: a temporary folder)")
    parser.add_argument("bench_args", nargs="*", help="more `energy-ingest bench` options, after --")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="energy-profile-"))
    out.mkdir(parents=True, exist_ok=True)

    bench = [sys.executable, "-m", "energy_ingest.cli", "bench", "--modes", "pipeline", "--no-docs"]
    bench += ["--repetitions", str(args.repetitions), "--results", str(out / "results"), *args.bench_args]
    proc = subprocess.Popen(bench, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    spies: dict[str, subprocess.Popen[bytes] | None] = {}
    readings = runs = 0
    first = last = None
    assert proc.stdout is not None
    for line in proc.stdout:
        print(line, end="")
        if m := re.search(r"fleet: .*?([\d,]+) readings", line):
            readings = int(m.group(1).replace(",", ""))
        if re.match(r"\[bench [^]]*\] pipeline: \d+ x ", line):  # the warm-up is over
            first = sample()
        if re.match(r"\[bench [^]]*\] pipeline \d+/\d+: ", line):
            last, runs = sample(), runs + 1
        if "pipeline 1/" in line and not spies:
            pids = {kind: pid for pid, kind, _ in processes() if kind in ("gateway", "consumer")}
            spies = {k: spy(pid, args.spy_seconds, out / f"{k}.txt") for k, pid in pids.items()}
    proc.wait()
    for p in spies.values():
        if p is not None:
            p.wait()
    if proc.returncode != 0:
        raise SystemExit(f"bench exited with {proc.returncode}")
    if first is None or last is None:
        raise SystemExit("profile: the bench printed no pipeline runs; see its output above")
    _print_cpu(first, last, readings * runs)
    for kind in spies:
        raw = out / f"{kind}.txt"
        if raw.exists():
            print(f"\n{kind}: self time by function ({raw})")
            for share, frame in top_functions(raw, args.top):
                print(f"  {share:5.1f}%  {frame[:120]}")


def _print_cpu(first: Sample, last: Sample, readings: int) -> None:
    seconds = last.at - first.at
    print(f"\nCPU per reading over the {seconds:.1f} s of the measured runs ({readings:,} readings, "
          f"after the bench's warm-up), idle {(last.idle - first.idle) / seconds:.2f} cores")  # fmt: skip
    print(f"{'process':10} {'cores':>6} {'us/reading':>11}")
    overall = 0.0
    for kind in KINDS:
        used = last.cpu.get(kind, 0.0) - first.cpu.get(kind, 0.0)
        overall += used
        print(f"{kind:10} {used / seconds:6.2f} {used * 1e6 / readings:11.1f}")
    print(f"{'total':10} {overall / seconds:6.2f} {overall * 1e6 / readings:11.1f}")
    jit = last.kafka_jit - first.kafka_jit
    share = f"{jit / seconds:.2f} cores, {jit * 1e6 / readings:.1f} us/reading"
    print(f"(of kafka: its JIT compiler threads {share})")


if __name__ == "__main__":
    main()
