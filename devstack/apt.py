"""Installing a Debian package the project needs, once, the same way for every tool."""

from __future__ import annotations

import os
import subprocess

from devstack._process import say
from devstack.errors import DevstackError


def apt_install(package: str, why: str, *, recommends: bool = False) -> None:
    """``apt-get update`` then ``apt-get install -y PACKAGE``; a failure says what apt said.

    The caller checks that we are root and finds the installed binaries itself."""
    say(f"{why}: installing Debian's {package} package with apt-get (once)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", *([] if recommends else ["--no-install-recommends"]), package]
    for argv in (["apt-get", "update"], install):
        result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            output = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
            raise DevstackError(f"`{' '.join(argv)}` failed:\n{output}")
