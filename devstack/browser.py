"""Finding (or installing) Debian's ``chromium``, the headless browser the dashboard tests drive."""

from __future__ import annotations

import shutil
from pathlib import Path

from devstack.apt import apt_install
from devstack.errors import MissingToolError
from devstack.postgres_install import is_root

PACKAGE = "chromium"
INSTALL_COMMAND = f"apt-get update && apt-get install -y --no-install-recommends {PACKAGE}"
_TOOL = "Chromium (chromium)"


def chromium_executable() -> Path:
    """The path of ``chromium``, installing Debian's package first when we are root.

    Playwright launches this binary (``executable_path``): no browser is ever downloaded.
    """
    found = _find()
    if found is not None:
        return found
    if not is_root():
        raise MissingToolError(_TOOL, f"sudo sh -c '{INSTALL_COMMAND}'")
    apt_install(PACKAGE, "Chromium not found")
    found = _find()
    if found is None:
        raise MissingToolError(_TOOL, INSTALL_COMMAND)
    return found


def _find() -> Path | None:
    found = shutil.which(PACKAGE)
    if found is not None:
        return Path(found)
    default = Path("/usr/bin") / PACKAGE
    return default if default.is_file() else None
