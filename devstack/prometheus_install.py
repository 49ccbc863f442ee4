"""Finding (or installing) Debian's Prometheus server and its ``promtool``."""

from __future__ import annotations

import shutil
from pathlib import Path

from devstack.apt import apt_install
from devstack.errors import MissingToolError
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
    apt_install(PACKAGE, "Prometheus not found")
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
