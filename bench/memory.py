"""Peak memory of each process of a run, per phase, from ``/proc``.

A single process (gateway, consumer, Kafka's JVM, the naive server, the bench itself) is
measured by its kernel high-water mark ``VmHWM``, reset at the start of each phase by
writing ``5`` to ``/proc/<pid>/clear_refs`` (exact; where the reset is refused, the
figure is the process's lifetime peak and says so). PostgreSQL is many processes sharing
``shared_buffers``, so it is measured as the sum of ``Pss`` (proportional set size:
shared pages split between their users) over the postmaster and its backends, sampled
every ``interval`` seconds; its peak is the highest sample.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class MemoryFigure:
    """The peak of one process (or process tree) during one phase."""

    peak_kb: int
    method: str


def status_kb(pid: int, name: str) -> int | None:
    """A ``kB`` field of ``/proc/<pid>/status`` such as ``VmHWM`` (None if gone)."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_peak(pid: int) -> bool:
    """Reset ``VmHWM`` to the current RSS; False if the kernel refused."""
    try:
        (PROC / str(pid) / "clear_refs").write_text("5")
    except OSError:
        return False
    return True


def pss_kb(pid: int) -> int | None:
    """``Pss`` of one process from ``smaps_rollup`` (None if unreadable)."""
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def descendants(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # The command name (field 2) may hold spaces; the parent pid follows its ')'.
            parent = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_pss_kb(root: int) -> int:
    """The summed ``Pss`` of ``root`` and its descendants."""
    return sum(pss_kb(pid) or 0 for pid in descendants(root))


@dataclass(slots=True)
class _Tracked:
    pid: int
    tree: bool
    lifetime: bool = False


class PeakMemory:
    """Tracks named processes and records each one's peak per phase."""

    def __init__(self, interval: float = 0.5) -> None:
        self._interval = interval
        self._tracked: dict[str, _Tracked] = {}
        self._phase: str | None = None
        self.peaks: dict[str, dict[str, MemoryFigure]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-memory", daemon=True)

    def start(self) -> None:
        """Begin sampling in a background thread."""
        self._thread.start()

    def close(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join(5)

    def track(self, name: str, pid: int, tree: bool = False) -> None:
        """Measure ``pid`` (and, with ``tree``, its descendants) as ``name`` from now on."""
        with self._lock:
            item = _Tracked(pid, tree)
            if not tree:
                item.lifetime = not reset_peak(pid)
            self._tracked[name] = item

    def untrack(self, name: str) -> None:
        """Take a last sample of ``name`` (call it before the process stops) and forget it."""
        with self._lock:
            item = self._tracked.pop(name, None)
            if item is not None:
                self._sample_one(name, item)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Attribute the peaks seen inside the block to phase ``name``."""
        with self._lock:
            self._phase = name
            self.peaks.setdefault(name, {})
            for item in self._tracked.values():
                if not item.tree:
                    item.lifetime = not reset_peak(item.pid)
        try:
            yield
        finally:
            with self._lock:
                self._sample_all()
                self._phase = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                self._sample_all()

    def _sample_all(self) -> None:
        for name, item in list(self._tracked.items()):
            self._sample_one(name, item)

    def _sample_one(self, name: str, item: _Tracked) -> None:
        if self._phase is None:
            return
        if item.tree:
            value: int | None = tree_pss_kb(item.pid)
            method = "sum of Pss over the process tree (sampled)"
        else:
            value = status_kb(item.pid, "VmHWM")
            method = "VmHWM (lifetime)" if item.lifetime else "VmHWM"
        if not value:
            return
        phase = self.peaks[self._phase]
        old = phase.get(name)
        if old is None or value > old.peak_kb:
            phase[name] = MemoryFigure(value, method)
