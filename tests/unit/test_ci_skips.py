"""The CI skip rule, run in a pytest of its own (pytester) with the plugin loaded."""

from __future__ import annotations

import pytest

SKIPPING = """
import pytest

def test_needs_a_service():
    pytest.skip("PostgreSQL server binaries not found")

def test_needs_docker():
    pytest.skip("no Docker engine on this machine")

def test_runs():
    assert True
"""


def test_under_ci_a_skip_fails_unless_it_is_for_docker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    pytester.makepyfile(SKIPPING)
    result = pytester.runpytest_subprocess("-p", "tests.ci_skips")
    result.assert_outcomes(passed=1, skipped=1, failed=1)
    result.stdout.fnmatch_lines(["*test_needs_a_service*skipped under CI=true*PostgreSQL server*"])


def test_outside_ci_skips_stay_skips(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    pytester.makepyfile(SKIPPING)
    result = pytester.runpytest_subprocess("-p", "tests.ci_skips")
    result.assert_outcomes(passed=1, skipped=2)
