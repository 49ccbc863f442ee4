"""Finding (or installing) the PostgreSQL server binaries, and the user that runs them."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import subprocess
from pathlib import Path

from devstack._process import say
from devstack.apt import apt_install
from devstack.errors import MissingToolError

SERVICE_USER = "postgres"
INSTALL_COMMAND = "apt-get update && apt-get install -y postgresql"


def is_root() -> bool:
    """Whether we run as root (PostgreSQL then runs as the ``postgres`` user)."""
    return os.geteuid() == 0


def server_bindir() -> Path:
    """The folder holding ``postgres`` and ``initdb``, installing them when we are root."""
    found = _find_bindir()
    if found is not None:
        return found
    if not is_root():
        hint = f"sudo sh -c '{INSTALL_COMMAND}'"
        raise MissingToolError("PostgreSQL server (postgres, initdb)", hint)
    apt_install("postgresql", "PostgreSQL server not found", recommends=True)
    found = _find_bindir()
    if found is None:
        raise MissingToolError("PostgreSQL server (postgres, initdb)", INSTALL_COMMAND)
    return found


def _find_bindir() -> Path | None:
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    # Debian's layout, newest major version first.
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_major_version, reverse=True)
    for bindir in candidates:
        if (bindir / "postgres").is_file() and (bindir / "initdb").is_file():
            return bindir
    return None


def _major_version(bindir: Path) -> float:
    found = re.match(r"\d+(\.\d+)?", bindir.parent.name)
    return float(found.group()) if found else 0.0


def ensure_service_user() -> None:
    """Create the ``postgres`` system user if it does not exist (root only)."""
    if _uid(SERVICE_USER) is not None:
        return
    if shutil.which("useradd") is None:
        raise MissingToolError("useradd", "apt-get install -y passwd")
    say(f"creating the system user {SERVICE_USER!r} to run PostgreSQL")
    subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", SERVICE_USER], check=True)


def give_to_service_user(path: Path) -> None:
    """chown ``path`` to the ``postgres`` user."""
    shutil.chown(path, user=SERVICE_USER, group=SERVICE_USER)


def make_traversable(path: Path) -> None:
    """Let the ``postgres`` user walk down to ``path``: add o+x where a parent lacks it.

    Only the search bit is added (nobody gains the right to list a folder), and only
    on folders owned by root, e.g. pytest's 0700 ``/tmp/pytest-of-root``.
    """
    for parent in reversed(path.absolute().parents):
        mode = parent.stat()
        if mode.st_uid == 0 and not mode.st_mode & stat.S_IXOTH:
            say(f"adding o+x to {parent} so that the postgres user can reach {path}")
            parent.chmod(stat.S_IMODE(mode.st_mode) | stat.S_IXOTH)


def _uid(user: str) -> int | None:
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None
