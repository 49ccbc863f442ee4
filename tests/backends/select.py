"""Which backend the test session runs on, from the facts of the machine (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from tests.backends.errors import UnknownBackendError

Backend = Literal["devstack", "containers"]
BACKENDS: tuple[Backend, ...] = get_args(Backend)
ENV_VAR = "TEST_BACKEND"


@dataclass(frozen=True, slots=True)
class Choice:
    """The backend and why it was chosen (shown in the session header)."""

    backend: Backend
    reason: str


def choose(env_value: str | None, *, docker_reachable: bool, java_present: bool, mvn_present: bool) -> Choice:
    """``TEST_BACKEND`` when set (blank counts as unset); otherwise containers when a
    Docker engine answers and devstack lacks Java or Maven, devstack in every other case."""
    value = (env_value or "").strip().lower()
    if value:
        if value not in BACKENDS:
            raise UnknownBackendError(env_value or "", BACKENDS)
        backend: Backend = "containers" if value == "containers" else "devstack"
        return Choice(backend, f"{ENV_VAR}={value}")
    missing = [tool for tool, present in (("Java", java_present), ("Maven", mvn_present)) if not present]
    if not docker_reachable:
        lacking = f" (and no {' or '.join(missing)} either)" if missing else ""
        return Choice("devstack", f"{ENV_VAR} unset, no Docker engine reachable{lacking}")
    if missing:
        lacking = " or ".join(missing)
        return Choice("containers", f"{ENV_VAR} unset, Docker reachable, no {lacking} for devstack")
    return Choice("devstack", f"{ENV_VAR} unset, Java and Maven present (devstack is the default)")
