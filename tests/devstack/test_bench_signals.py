"""`energy-ingest bench` stopped by SIGTERM (``timeout``, a job runner) leaves nothing running.

The bench is started for real (its own Kafka, PostgreSQL, gateway and consumer in a
temporary folder). Once its gateway and consumer are up, it gets SIGTERM: it must exit
with 143, and every process it started (Kafka's JVM, the PostgreSQL server and its
backends, the gateway, the consumer) must be gone, and its data folder removed. Before
the fix, Python's default SIGTERM ended the bench without running its ``finally`` blocks
and all of them ran on.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.memory import descendants
from tests.support import process_alive


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"


def _wait_for(log: Path, proc: subprocess.Popen[bytes], needle: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if needle in text:
            return text
        if proc.poll() is not None:
            pytest.fail(f"the bench exited with {proc.returncode} before {needle!r}:\n{text[-4000:]}")
        time.sleep(0.2)
    pytest.fail(f"no {needle!r} within {timeout:.0f} s:\n{log.read_text(errors='replace')[-4000:]}")


def test_sigterm_stops_every_process_the_bench_started_and_removes_its_folder(tmp_path: Path) -> None:
    log = tmp_path / "bench.log"
    argv = [
        sys.executable, "-m", "energy_ingest.cli", "bench", "--quick", "--modes", "pipeline",
        "--no-docs", "--results", str(tmp_path / "results"),
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    started: set[int] = set()
    try:
        text = _wait_for(log, proc, "warming up", 240)
        place = re.search(r"starting Kafka and PostgreSQL in (\S+)", text)
        assert place is not None, text[-2000:]
        data_dir = Path(place.group(1))
        started = set(descendants(proc.pid)) - {proc.pid}
        names = " | ".join(_cmdline(pid) for pid in started)
        for part in ("java", "postgres", "energy_ingest.cli gateway", "energy_ingest.cli consumer"):
            assert part in names, f"{part!r} is not among the bench's processes: {names}"

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(90) == 128 + signal.SIGTERM

        deadline = time.monotonic() + 30
        while any(process_alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = {pid: _cmdline(pid) for pid in started if process_alive(pid)}
        assert left == {}, f"processes outlived the bench: {left}"
        assert not data_dir.exists(), f"the bench left its data folder {data_dir}"
        assert "stopping Kafka and PostgreSQL" in log.read_text(errors="replace")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in started:
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)
