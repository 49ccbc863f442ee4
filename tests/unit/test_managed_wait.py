"""ManagedProcess.wait_ready: ready, exited, or not ready in time, on real child processes."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from devstack._process import ManagedProcess
from devstack.errors import ServiceStartError


def _child(tmp_path: Path, code: str) -> ManagedProcess:
    proc = ManagedProcess("probe-test", tmp_path / "probe.pid", signal.SIGTERM)
    proc.spawn([sys.executable, "-c", code], log=tmp_path / "probe.log", cwd=tmp_path)
    return proc


def test_ready_when_the_probe_says_so(tmp_path: Path) -> None:
    proc = _child(tmp_path, "import time; time.sleep(30)")
    answers = iter(["starting", "starting", None])
    proc.wait_ready(lambda: next(answers), timeout=10, log=tmp_path / "probe.log", every=0.01)
    assert proc.running()
    proc.stop(5)


def test_a_child_that_exits_is_reported_with_its_log(tmp_path: Path) -> None:
    proc = _child(tmp_path, "print('bad config line 3'); raise SystemExit(7)")
    with pytest.raises(ServiceStartError) as failed:
        proc.wait_ready(lambda: "no answer", timeout=10, log=tmp_path / "probe.log", every=0.05)
    assert "it exited with code 7" in str(failed.value)
    assert "bad config line 3" in failed.value.log_tail
    assert not proc.running()


def test_a_child_not_ready_in_time_is_killed(tmp_path: Path) -> None:
    proc = _child(tmp_path, "import time; time.sleep(30)")
    with pytest.raises(ServiceStartError) as failed:
        proc.wait_ready(lambda: "HTTP 503", timeout=0.3, log=tmp_path / "probe.log", every=0.05)
    assert "not ready within 0 s (HTTP 503)" in str(failed.value)
    assert not proc.running()
