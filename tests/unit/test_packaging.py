"""The lock (requirements/*.txt) and the service image hold what the services need, and no more.

Checked without a network: every locked line is an exact pin with hashes, the lock still
satisfies pyproject.toml, the service lock carries none of the app's or the dev tools'
packages, every import of the service image's packages resolves to the service lock, the
standard library or the image itself, and no service or ground package imports a floor above
it (nor `devstack`, which is ground but not in the image).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements"
LOCK_FILES = ("bootstrap", "build", "dev", "service", "tools")

# What the service image copies: the three services and the ground they stand on.
IMAGE_PACKAGES = frozenset({"common", "schemas", "sql", "ingest_gateway", "consumer", "analytics_api"})
# Ground, but only for `make run` and the tests: not in the image, so no service imports it.
GROUND_NOT_IN_IMAGE = frozenset({"devstack"})
# The operator's app and the tools: floors above the services.
UPPER_FLOORS = frozenset({"energy_ingest", "bench", "simulator"})
# Never in the service image, whatever the extras say.
NOT_IN_SERVICE = frozenset({"matplotlib", "tqdm", "pytest", "mypy", "aiohttp", "httpx", "ruff"})

PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def _entries(path: Path) -> list[str]:
    """The requirement entries of a lock file, each with its continuation lines joined."""
    entries: list[str] = []
    current = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        current += " " + line.removesuffix("\\").strip()
        if not line.endswith("\\"):
            entries.append(current.strip())
            current = ""
    if current:
        entries.append(current.strip())
    return entries


def _pins(lock: str) -> dict[str, set[str]]:
    """Normalized name -> the versions locked for it (several only under different markers)."""
    pins: dict[str, set[str]] = {}
    for entry in _entries(REQUIREMENTS / f"{lock}.txt"):
        match = PIN.match(entry)
        assert match, f"{lock}.txt: not an exact pin: {entry[:80]}"
        pins.setdefault(_normalize(match["name"]), set()).add(match["version"])
    return pins


@pytest.mark.parametrize("lock", LOCK_FILES)
def test_every_locked_line_is_an_exact_pin_with_hashes(lock: str) -> None:
    entries = _entries(REQUIREMENTS / f"{lock}.txt")
    assert entries, f"{lock}.txt is empty"
    for entry in entries:
        assert PIN.match(entry), f"{lock}.txt: not pinned with ==: {entry[:80]}"
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), f"{lock}.txt: no hash: {entry[:80]}"
        rest = re.sub(r"--hash=sha256:[0-9a-f]{64}", "", entry)
        assert "--" not in rest.split(";", 1)[0], f"{lock}.txt: an option besides hashes: {entry[:80]}"


def test_service_lock_has_none_of_the_apps_or_the_dev_tools_packages() -> None:
    project = _pyproject()["project"]
    base = {_normalize(Requirement(r).name) for r in project["dependencies"]}
    extras = {
        _normalize(Requirement(r).name)
        for reqs in project["optional-dependencies"].values()
        for r in reqs
        if _normalize(Requirement(r).name) != _normalize(project["name"])
    }
    service = set(_pins("service"))
    assert not service & {_normalize(n) for n in NOT_IN_SERVICE}
    assert not service & (extras - base), "an extra's own package is in the service lock"
    assert base <= service


def test_the_lock_still_satisfies_pyproject() -> None:
    """What `make lock-check` sees with a network, in part: a requirement changed in
    pyproject.toml without `make lock` fails here too."""
    project = _pyproject()["project"]
    dev = _pins("dev")
    service = _pins("service")
    extra_reqs = [r for reqs in project["optional-dependencies"].values() for r in reqs]
    for lock, reqs in ((service, project["dependencies"]), (dev, [*project["dependencies"], *extra_reqs])):
        for text in reqs:
            req = Requirement(text)
            name = _normalize(req.name)
            if name == _normalize(project["name"]):
                continue
            assert name in lock, f"{req.name} is not locked: run `make lock`"
            assert any(req.specifier.contains(v, prereleases=True) for v in lock[name]), (
                f"{text}: locked {sorted(lock[name])}, run `make lock`"
            )


@pytest.mark.parametrize("lock", ["service", "tools"])
def test_service_and_tools_locks_are_cut_from_the_dev_lock(lock: str) -> None:
    dev = {e.split(" ", 1)[0]: e for e in _entries(REQUIREMENTS / "dev.txt")}
    for entry in _entries(REQUIREMENTS / f"{lock}.txt"):
        pin = entry.split(" ", 1)[0]
        assert pin in dev, f"{lock}.txt locks {pin}, dev.txt does not"
        hashes = set(re.findall(r"sha256:[0-9a-f]{64}", entry))
        assert hashes == set(re.findall(r"sha256:[0-9a-f]{64}", dev[pin])), f"{pin}: other hashes"


def test_tools_lock_adds_the_app_extra_to_the_service_lock() -> None:
    tools, service = _pins("tools"), _pins("service")
    assert service.items() <= tools.items()
    for text in _pyproject()["project"]["optional-dependencies"]["app"]:
        assert _normalize(Requirement(text).name) in tools


def test_bootstrap_locks_exactly_the_pinned_uv() -> None:
    wanted = [
        line.strip()
        for line in (REQUIREMENTS / "bootstrap.in").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(wanted) == 1
    assert re.fullmatch(r"uv==\S+", wanted[0])
    name, version = wanted[0].split("==")
    assert _pins("bootstrap") == {name: {version}}


def test_build_lock_follows_the_build_system() -> None:
    wanted = [
        line.strip()
        for line in (REQUIREMENTS / "build.in").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert wanted == _pyproject()["build-system"]["requires"]
    build = _pins("build")
    for text in wanted:
        req = Requirement(text)
        assert any(req.specifier.contains(v) for v in build[_normalize(req.name)])


def _python_files(package: str) -> Iterator[Path]:
    yield from sorted((ROOT / package).rglob("*.py"))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _catches_import_error(node: ast.Try) -> bool:
    for handler in node.handlers:
        names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any(isinstance(n, ast.Name) and n.id in {"ImportError", "ModuleNotFoundError"} for n in names):
            return True
    return False


def _imports(nodes: Iterable[ast.AST], *, runtime_only: bool) -> Iterator[tuple[str, int]]:
    """Top-level module names imported (absolute imports only) anywhere in `nodes`, with their
    line numbers. `runtime_only` leaves out `if TYPE_CHECKING:` blocks and imports guarded by
    `except ImportError`."""
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                yield node.module.split(".")[0], node.lineno
        elif runtime_only and isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _imports(node.orelse, runtime_only=runtime_only)
        elif runtime_only and isinstance(node, ast.Try) and _catches_import_error(node):
            yield from _imports([*node.handlers, *node.orelse, *node.finalbody], runtime_only=runtime_only)
        else:
            yield from _imports(ast.iter_child_nodes(node), runtime_only=runtime_only)


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def test_every_import_of_the_service_image_resolves_to_the_service_lock() -> None:
    service = set(_pins("service"))
    distributions = importlib.metadata.packages_distributions()
    unresolved: list[str] = []
    for package in sorted(IMAGE_PACKAGES):
        for path in _python_files(package):
            for name, line in _imports([_parse(path)], runtime_only=True):
                if name in sys.stdlib_module_names or name in IMAGE_PACKAGES:
                    continue
                if not {_normalize(d) for d in distributions.get(name, [])} & service:
                    unresolved.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert not unresolved, "imports that the service image cannot satisfy:\n" + "\n".join(unresolved)


@pytest.mark.parametrize(
    ("packages", "forbidden"),
    [
        (IMAGE_PACKAGES, UPPER_FLOORS | GROUND_NOT_IN_IMAGE),
        (GROUND_NOT_IN_IMAGE, UPPER_FLOORS),
    ],
    ids=["services-and-ground-in-the-image", "devstack"],
)
def test_no_package_imports_a_floor_above_it(packages: frozenset[str], forbidden: frozenset[str]) -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for package in sorted(packages)
        for path in _python_files(package)
        for name, line in _imports([_parse(path)], runtime_only=False)
        if name in forbidden
    ]
    assert not found, "imports of a floor above:\n" + "\n".join(found)


def _dockerfile_stages() -> dict[str, list[str]]:
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words[:1] == ["FROM"]:
            current = stages.setdefault(words[3] if len(words) >= 4 else words[1], [])
        current.append(line)
    return stages


def test_service_image_copies_only_the_services_and_the_ground() -> None:
    stages = _dockerfile_stages()
    assert list(stages)[-1] == "service", "the service image is the Dockerfile's default (last) stage"
    service = stages["service"]
    copied = {line.split()[1] for line in service if line.startswith("COPY ")}
    assert copied == IMAGE_PACKAGES | {"requirements/service.txt"}
    install = [line for line in service if "pip install" in line]
    assert install
    assert all("--require-hashes" in line for line in install)
    tools = stages["tools"]
    assert any(line.startswith("COPY requirements/tools.txt ") for line in tools)
