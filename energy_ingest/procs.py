"""Child service processes with prefixed output, used by `energy-ingest dev` and the tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Protocol

import httpx

from energy_ingest.lifeline import PARENT_PID_ENV
from energy_ingest.service_env import service_env


class Running(Protocol):
    """A started child that :func:`wait_http` can watch."""

    @property
    def name(self) -> str: ...

    def alive(self) -> bool: ...

    def returncode(self) -> int | None: ...

    def tail(self, lines: int = 40) -> str: ...


class ServiceProcess:
    """One service (``energy-ingest <command>``) run as a child process.

    Its environment is ours plus ``env``, less what the service may not see
    (:func:`energy_ingest.service_env.service_env`: e.g. no token keys for the consumer).

    Its stdout and stderr lines are copied to ``sink`` (default: our stdout) prefixed
    with ``[name]``, and the last lines are kept for error reports. With
    ``die_with_parent`` the child gets SIGTERM when this process dies (see
    :mod:`energy_ingest.lifeline`); start it from the main thread then, since the
    kernel ties the signal to the thread that started the child.
    """

    def __init__(
        self,
        name: str,
        args: list[str],
        env: Mapping[str, str],
        sink: IO[str] | None = None,
        *,
        die_with_parent: bool = False,
    ) -> None:
        self.name = name
        self._args = args
        self._env = service_env(args[0] if args else "", {**os.environ, **env})
        if die_with_parent:
            self._env[PARENT_PID_ENV] = str(os.getpid())
        self._sink = sink if sink is not None else sys.stdout
        self._proc: subprocess.Popen[bytes] | None = None
        self._tail: list[str] = []
        self._pump: threading.Thread | None = None

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def start(self) -> ServiceProcess:
        """Launch ``python -m energy_ingest.cli <args>``."""
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "energy_ingest.cli", *self._args],
            env=self._env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._pump = threading.Thread(target=self._copy_output, name=f"out-{self.name}", daemon=True)
        self._pump.start()
        return self

    def _copy_output(self) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        for raw in self._proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            self._tail = [*self._tail[-199:], line]
            try:
                self._sink.write(f"[{self.name}] {line}\n")
                self._sink.flush()
            except ValueError:  # sink closed at exit
                return

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self._tail[-lines:])

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` (SIGKILL, SIGSTOP, SIGCONT, ...) to the process."""
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, sig)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, wait, then SIGKILL. Returns the exit code."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        if self._pump is not None:
            self._pump.join(2)
        return self._proc.returncode

    def wait(self, timeout: float) -> int:
        assert self._proc is not None
        return self._proc.wait(timeout)


def wait_http(url: str, timeout: float, proc: Running | None = None, expect: int = 200) -> None:
    """Poll ``url`` until it answers ``expect``; fail fast if ``proc`` died."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.returncode()}:\n{proc.tail()}")
        try:
            r = httpx.get(url, timeout=2)
            if r.status_code == expect:
                return
            last = f"HTTP {r.status_code}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.2)
    tail = f"\n{proc.tail()}" if proc is not None else ""
    raise TimeoutError(f"{url} not ready after {timeout:.0f} s ({last}){tail}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children, from /proc (0 if gone)."""
    return stat_cpu_seconds(Path(f"/proc/{pid}/stat"), children=True)


def stat_cpu_seconds(stat: Path, children: bool = False) -> float:
    """User + system CPU from a ``/proc`` ``stat`` file (a process's, or a thread's under
    ``task/``), with its reaped children's when ``children``; 0 if it is gone."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11 : 15 if children else 13]) / os.sysconf("SC_CLK_TCK")
