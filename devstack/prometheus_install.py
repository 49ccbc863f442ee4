"""Finding (or installing) Debian's Prometheus server and its ``promtool``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from devstack._process import say
from devstack.errors import DevstackError, MissingToolError
from devstack.postgres_install import is_root

PACKAGE = "prometheus"
INSTALL_COMMAND = f"apt-get update && apt-get install -y {PACKAGE}"
_TOOL = "Prometheus (prometheus, promtool)"


def prometheus_binaries() -> tuple[Path, Path]:
    """``(prometheus, promtool)``, installing Debian's package first when we are root.

    Only the binaries are used: the package's own service (which a systemd machine
    starts on port 9090) is left alone; devstack runs its own server on its own port.
    """
    found = _find()
    if found is not None:
        return found
    if not is_root():
        raise MissingToolError(_TOOL, f"sudo sh -c '{INSTALL_COMMAND}'")
    say("Prometheus not found: installing Debian's package with apt-get (once)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", PACKAGE]):
        result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            output = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
            raise DevstackError(f"`{' '.join(argv)}` failed:\n{output}")
    found = _find()
    if found is None:
        raise MissingToolError(_TOOL, INSTALL_COMMAND)
    return found


def promtool() -> Path:
    """The ``promtool`` that checks rule and config files (installed with the server)."""
    return prometheus_binaries()[1]


def _find() -> tuple[Path, Path] | None:
    paths = []
    for name in ("prometheus", "promtool"):
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").is_file() else None)
        if found is None:
            return None
        paths.append(Path(found))
    return paths[0], paths[1]
