"""Which local TCP port is taken, and by which process: for one plain line instead of a traceback."""

from __future__ import annotations

import os
import socket
from pathlib import Path

_LISTEN = "0A"


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could bind ``host:port`` now (with SO_REUSEADDR, as servers bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return " ".join(raw.replace(b"\0", b" ").decode(errors="replace").split()) or "?"  # one line


def port_holder(port: int) -> tuple[int, str] | None:
    """The pid and command line of the process listening on ``port``, when /proc tells."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in wanted:
                    return int(entry.name), _command_line(int(entry.name))
            except OSError:
                continue
    return None


def port_in_use_message(port: int, what: str, hint: str = "") -> str:
    """One line: which port, for what, held by whom (when known), and what to do."""
    holder = port_holder(port)
    who = f" by pid {holder[0]} ({holder[1][:120]})" if holder else ""
    return f"port {port} ({what}) is already in use{who}" + (f"; {hint}" if hint else "")
