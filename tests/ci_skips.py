"""A pytest plugin: under ``CI=true`` no test may pass by skipping, except for Docker."""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

# The one kind of skip CI allows: a tool this machine cannot have.
ALLOWED_SKIP = "docker"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under ``CI=true`` a skipped test fails, unless its reason names Docker.

    A test that cannot reach a service it needs must not turn a run green: the session
    provisions Kafka and PostgreSQL itself, so a skip for anything else is a bug."""
    report = yield
    if os.environ.get("CI", "").lower() != "true" or not report.skipped:
        return report
    reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if ALLOWED_SKIP not in reason.lower():
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which allows only a missing Docker engine: {reason}"
    return report
