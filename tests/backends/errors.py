"""Errors of the test backends: a choice that cannot be made, a compose file we cannot read."""

from __future__ import annotations


class BackendError(Exception):
    """Base class of the test backends' errors."""


class UnknownBackendError(BackendError):
    """``TEST_BACKEND`` holds a value that names no backend."""

    def __init__(self, value: str, known: tuple[str, ...]) -> None:
        super().__init__(f"TEST_BACKEND={value!r} names no test backend: use one of {', '.join(known)}")
        self.value = value


class ComposeDriftError(BackendError):
    """docker-compose.yml no longer has what the containers backend takes from it."""

    def __init__(self, what: str) -> None:
        super().__init__(f"docker-compose.yml: {what} (tests/backends/compose.py reads it)")
        self.what = what


class DockerUnreachableError(BackendError):
    """The containers backend was chosen but no Docker engine answers."""

    def __init__(self, why: str) -> None:
        super().__init__(f"TEST_BACKEND=containers needs a Docker engine: {why}")
        self.why = why
