"""The facts :func:`tests.backends.select.choose` decides on, looked up on this machine."""

from __future__ import annotations

import functools
import os
import shutil

from tests.backends.select import ENV_VAR, Choice, choose


def docker_unreachable() -> str | None:
    """None when a Docker engine answers a ping the way testcontainers reaches it
    (``DOCKER_HOST``, ``~/.testcontainers.properties``, the docker context), else why not."""
    from docker.errors import DockerException  # type: ignore[import-untyped]  # testcontainers brings it
    from testcontainers.core.docker_client import DockerClient

    try:
        client = DockerClient(timeout=5)
        try:
            client.client.ping()
        finally:
            client.client.close()
    except (DockerException, OSError) as exc:  # requests' errors are OSErrors too
        return f"{type(exc).__name__}: {str(exc).strip() or 'no answer'}"
    return None


@functools.cache
def session_choice() -> Choice:
    """This session's backend (looked up once): ``TEST_BACKEND``, Docker, ``java``, ``mvn``."""
    return choose(
        os.environ.get(ENV_VAR),
        docker_reachable=docker_unreachable() is None,
        java_present=shutil.which("java") is not None,
        mvn_present=shutil.which("mvn") is not None,
    )


def containers_chosen() -> bool:
    """Whether the session's Kafka and PostgreSQL run in Docker containers."""
    return session_choice().backend == "containers"
