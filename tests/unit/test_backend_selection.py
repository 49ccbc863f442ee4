"""Which backend a session runs on (tests/backends/select.py), branch by branch, and the
probe of this machine's facts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import Stack
from tests.backends import probe
from tests.backends.containers import ContainerStack
from tests.backends.errors import UnknownBackendError
from tests.backends.select import Choice, choose
from tests.backends.stack import ServiceStack

ALL_FACTS = [
    {"docker_reachable": d, "java_present": j, "mvn_present": m}
    for d in (False, True)
    for j in (False, True)
    for m in (False, True)
]


@pytest.mark.parametrize("facts", ALL_FACTS)
@pytest.mark.parametrize(
    ("value", "backend"),
    [
        ("devstack", "devstack"),
        ("containers", "containers"),
        (" Containers\n", "containers"),
        ("DEVSTACK", "devstack"),
    ],
)
def test_an_explicit_value_wins_over_every_fact(value: str, backend: str, facts: dict[str, bool]) -> None:
    choice = choose(value, **facts)
    assert choice.backend == backend
    assert choice.reason == f"TEST_BACKEND={backend}"


@pytest.mark.parametrize("value", ["docker", "container", "local", "0"])
def test_an_unknown_value_is_refused_naming_the_choices(value: str) -> None:
    with pytest.raises(UnknownBackendError, match="devstack, containers") as caught:
        choose(value, docker_reachable=True, java_present=False, mvn_present=False)
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize("value", [None, "", "   "])
@pytest.mark.parametrize(
    ("docker", "java", "mvn", "expected"),
    [
        (False, True, True, Choice("devstack", "TEST_BACKEND unset, no Docker engine reachable")),
        (
            False,
            False,
            True,
            Choice("devstack", "TEST_BACKEND unset, no Docker engine reachable (and no Java either)"),
        ),
        (
            False,
            False,
            False,
            Choice(
                "devstack", "TEST_BACKEND unset, no Docker engine reachable (and no Java or Maven either)"
            ),
        ),
        (
            True,
            False,
            True,
            Choice("containers", "TEST_BACKEND unset, Docker reachable, no Java for devstack"),
        ),
        (
            True,
            True,
            False,
            Choice("containers", "TEST_BACKEND unset, Docker reachable, no Maven for devstack"),
        ),
        (
            True,
            False,
            False,
            Choice("containers", "TEST_BACKEND unset, Docker reachable, no Java or Maven for devstack"),
        ),
        (
            True,
            True,
            True,
            Choice("devstack", "TEST_BACKEND unset, Java and Maven present (devstack is the default)"),
        ),
    ],
)
def test_unset_the_machine_decides(
    value: str | None, docker: bool, java: bool, mvn: bool, expected: Choice
) -> None:
    assert choose(value, docker_reachable=docker, java_present=java, mvn_present=mvn) == expected


@pytest.fixture
def fresh_choice() -> Iterator[None]:
    """The session's cached choice forgotten for the test and after it."""
    probe.session_choice.cache_clear()
    yield
    probe.session_choice.cache_clear()


def test_a_docker_host_that_does_not_answer_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'nothing.sock'}")
    why = probe.docker_unreachable()
    assert why is not None
    assert "nothing.sock" in why or "No such file" in why


@pytest.mark.usefixtures("fresh_choice")
def test_the_session_choice_reads_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'nothing.sock'}")
    monkeypatch.setenv("TEST_BACKEND", "containers")
    assert probe.session_choice() == Choice("containers", "TEST_BACKEND=containers")
    assert probe.containers_chosen()
    probe.session_choice.cache_clear()
    monkeypatch.delenv("TEST_BACKEND")
    monkeypatch.setenv("PATH", str(tmp_path))  # no java, no mvn: still devstack without Docker
    assert probe.session_choice() == Choice(
        "devstack", "TEST_BACKEND unset, no Docker engine reachable (and no Java or Maven either)"
    )
    assert not probe.containers_chosen()


def both_backends_fit(devstack: Stack, containers: ContainerStack) -> list[ServiceStack]:
    """Not a test: mypy checks here that both stacks give the fixtures what they use."""
    return [devstack, containers]
