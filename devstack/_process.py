"""Child-process plumbing shared by the Kafka and PostgreSQL wrappers."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from devstack.errors import ServiceStartError
from devstack.ports import port_in_use_message, port_is_free


def say(message: str) -> None:
    """Print one progress line to stderr."""
    print(f"[devstack] {message}", file=sys.stderr, flush=True)


def tail(path: Path, lines: int = 40) -> str:
    """Return the last ``lines`` lines of a text file ('' if it does not exist)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read()
    except FileNotFoundError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def ensure_port_free(port: int, service: str) -> None:
    """Raise ServiceStartError now if something already listens on 127.0.0.1:``port``.

    The message names the process holding the port when /proc tells."""
    if not port_is_free(port):
        raise ServiceStartError(service, port_in_use_message(port, service))


class ManagedProcess:
    """A long-running child in its own session, logging to a file.

    Its own session keeps a terminal's Ctrl-C away from it (we shut it down in
    order instead), and lets ``kill`` take down its whole process group, e.g. the
    PostgreSQL backends together with the postmaster.
    """

    def __init__(self, name: str, pidfile: Path, stop_signal: signal.Signals) -> None:
        self.name = name
        self.pidfile = pidfile
        self.stop_signal = stop_signal
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The child's pid while it is running."""
        return self._proc.pid if self._proc is not None else None

    def running(self) -> bool:
        """Whether the child has been started and has not exited."""
        return self._proc is not None and self._proc.poll() is None

    def exit_code(self) -> int | None:
        """The child's exit code once it has exited, else None."""
        return None if self._proc is None else self._proc.poll()

    def spawn(
        self,
        argv: Sequence[str],
        *,
        log: Path,
        cwd: Path,
        ports: Sequence[int] = (),
        env: Mapping[str, str] | None = None,
        user: str | None = None,
    ) -> None:
        """Start ``argv`` with stdout and stderr appended to ``log``.

        A leftover of an earlier run on the same folder is stopped first; then
        ``ports`` must be free, else ServiceStartError says so at once.
        """
        reap_stale(self.pidfile, str(cwd), self.stop_signal)
        for port in ports:
            ensure_port_free(port, self.name)
        with log.open("ab") as out:
            out.write(f"\n=== devstack: starting {self.name} at {time.ctime()} ===\n".encode())
            out.flush()
            self._proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=None if env is None else dict(env),
                start_new_session=True,
                user=user,
                group=user,
                extra_groups=[] if user is not None else None,
            )
        self.pidfile.write_text(f"{self._proc.pid}\n")
        atexit.register(self._stop_at_exit)

    def wait_ready(
        self, probe: Callable[[], str | None], *, timeout: float, log: Path, every: float = 0.2
    ) -> None:
        """Poll ``probe`` (None: ready; else what it saw) until the child is ready.

        A child that exits first, or one not ready within ``timeout`` s, is killed and a
        ServiceStartError carries the last thing the probe saw and the tail of ``log``."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.running():
                code = self.exit_code()
                self.kill()
                raise ServiceStartError(self.name, f"it exited with code {code}", tail(log))
            seen = probe()
            if seen is None:
                return
            if time.monotonic() > deadline:
                self.kill()
                raise ServiceStartError(self.name, f"not ready within {timeout:.0f} s ({seen})", tail(log))
            time.sleep(every)

    def _stop_at_exit(self) -> None:
        """Last resort when the interpreter exits with the child still running."""
        self.stop(timeout=15)

    def stop(self, timeout: float) -> None:
        """Send the stop signal, wait up to ``timeout`` s, then SIGKILL the group."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(self.stop_signal)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                say(f"{self.name} did not stop within {timeout:.0f} s: killing it")
        self.kill()

    def kill(self) -> None:
        """SIGKILL the child's whole process group at once (no clean shutdown)."""
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        self._proc = None
        atexit.unregister(self._stop_at_exit)
        with contextlib.suppress(FileNotFoundError):
            self.pidfile.unlink()


def reap_stale(pidfile: Path, marker: str, sig: signal.Signals, timeout: float = 30) -> None:
    """Stop a leftover child of an earlier run whose runner was itself killed.

    Only a process whose command line or working directory mentions ``marker``
    (the service's own directory) is touched, so a recycled pid is left alone. It
    gets ``sig`` first (a clean shutdown releases its locks), SIGKILL after ``timeout``.
    """
    try:
        pid = int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return
    proc_dir = Path(f"/proc/{pid}")
    try:
        cmdline = (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        cwd = os.readlink(proc_dir / "cwd")
    except OSError:
        cmdline, cwd = "", ""
    if _alive(proc_dir) and (marker in cmdline or cwd == marker):
        say(f"stopping leftover process {pid} from an earlier run ({pidfile.name})")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while _alive(proc_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        pidfile.unlink()


def is_live_pid(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie, already dead, is not)."""
    return _alive(Path(f"/proc/{pid}"))


def _alive(proc_dir: Path) -> bool:
    """Whether a /proc entry is a live process (a zombie is not)."""
    try:
        stat = (proc_dir / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
