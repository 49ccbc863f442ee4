"""Java check and the Kafka broker's jars, resolved by Maven into a cache outside the repo."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from devstack._process import say
from devstack.errors import DevstackError, MissingToolError

KAFKA_VERSION = "4.1.1"
"""The Apache Kafka release the broker runs (see kafka/pom.xml)."""

MIN_JAVA = 17
POM = Path(__file__).with_name("kafka") / "pom.xml"
LOG4J2_CONFIG = Path(__file__).with_name("kafka") / "log4j2.yaml"
_MARKER = ".complete"


def cache_root() -> Path:
    """``${XDG_CACHE_HOME:-~/.cache}/energy-ingest``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "energy-ingest"


def java_executable() -> str:
    """Path of a Java 17+ ``java``, or MissingToolError naming the package to install."""
    hint = "apt-get install openjdk-17-jre-headless"
    java = shutil.which("java")
    if java is None:
        raise MissingToolError(f"Java {MIN_JAVA}+", hint)
    result = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60, check=False)
    found = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if found is None:
        raise MissingToolError(f"Java {MIN_JAVA}+ (cannot run `{java} -version`)", hint)
    major = int(found.group(1))
    if major == 1 and found.group(2):  # "1.8.0_x" style
        major = int(found.group(2))
    if major < MIN_JAVA:
        raise MissingToolError(f"Java {MIN_JAVA}+ (found Java {major})", hint)
    return java


def kafka_libs(cache_dir: Path | None = None) -> Path:
    """Return a folder holding every jar the broker needs, downloading them if needed.

    Maven resolves ``kafka/pom.xml`` into ``<cache>/kafka-<version>/libs``. A marker
    file, written last and carrying a hash of the pom, tells a complete download from
    a half-finished one (which is redone). A file lock serialises concurrent callers.
    """
    root = (cache_dir or cache_root()) / f"kafka-{KAFKA_VERSION}"
    libs = root / "libs"
    marker = root / _MARKER
    want = hashlib.sha256(POM.read_bytes()).hexdigest()
    if _marker_matches(marker, want):
        return libs
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / ".lock"):
        if _marker_matches(marker, want):
            return libs
        _download(libs, marker, want)
    return libs


def _marker_matches(marker: Path, want: str) -> bool:
    try:
        return marker.read_text().strip() == want
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _download(libs: Path, marker: Path, want: str) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MissingToolError("Maven (mvn)", "apt-get install maven")
    say(f"resolving Kafka {KAFKA_VERSION} jars with Maven into {libs} (once)")
    started = time.monotonic()
    marker.unlink(missing_ok=True)
    partial = libs.with_name("libs.partial")
    shutil.rmtree(partial, ignore_errors=True)
    result = subprocess.run(
        [
            mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
            f"-DoutputDirectory={partial}", "-DincludeScope=runtime",
        ],
        capture_output=True, text=True, check=False, cwd=libs.parent,
    )  # fmt: skip
    jars = list(partial.glob("*.jar")) if partial.is_dir() else []
    if result.returncode != 0 or not any(j.name.startswith("kafka_2.13") for j in jars):
        output = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise DevstackError(f"Maven could not resolve the Kafka jars (exit {result.returncode}):\n{output}")
    shutil.rmtree(libs, ignore_errors=True)
    partial.rename(libs)
    marker.write_text(want + "\n")
    say(f"Kafka jars ready ({len(jars)} jars) in {time.monotonic() - started:.1f} s")
