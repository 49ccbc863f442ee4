"""What the figures were measured on: CPU, memory, versions, and how busy it was."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

from devstack.kafka_jars import KAFKA_VERSION

Machine = dict[str, str | int | float]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError):
        pass
    return 0.0


def _java_version() -> str:
    java = shutil.which("java")
    if java is None:
        return "unknown"
    done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=False)
    first = (done.stderr or done.stdout).splitlines()
    return first[0].strip() if first else "unknown"


def load_average() -> float:
    """The one-minute load average."""
    return round(os.getloadavg()[0], 2)


def describe(postgres_version: str) -> Machine:
    """The machine and the versions of everything measured."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count() or 0,
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": postgres_version,
        "kafka": KAFKA_VERSION,
        "java": _java_version(),
    }
