"""`energy-ingest dev` as a supervisor, run for real: crash restarts, no orphans, plain port errors.

One dev stack (Kafka, PostgreSQL, Prometheus, the services) is started in a temporary
folder. The test SIGKILLs a consumer replica and watches it come back while the gateway
keeps answering; SIGKILLs the supervisor itself and checks that no service outlives it;
starts dev again on the same folder (the leftover Kafka, PostgreSQL and Prometheus are
found and stopped); and starts one with a taken port, which must say so in one line.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devstack import free_port
from devstack.ports import port_is_free
from tests.support import process_alive


def _pair() -> int:
    """A free port whose successor is free too (Kafka's controller, the PostgreSQL standby: port + 1)."""
    for _ in range(50):
        port = free_port()
        if port_is_free(port + 1):
            return port
    raise RuntimeError("no two consecutive free ports")


@dataclass
class Dev:
    """One `energy-ingest dev` process and where it prints."""

    dir: Path
    ports: dict[str, int]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def argv(self) -> list[str]:
        p = self.ports
        return [
            sys.executable, "-m", "energy_ingest.cli", "dev", "--dir", str(self.dir), "--consumers", "2",
            "--kafka-port", str(p["kafka"]), "--pg-port", str(p["pg"]), "--gateway-port", str(p["gateway"]),
            "--analytics-port", str(p["analytics"]), "--metrics-port", str(p["metrics"]),
            "--prometheus-port", str(p["prometheus"]), "--partitions", "2", "--pg-replica",
        ]  # fmt: skip

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, needle: str, timeout: float, *, after: int = 0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text()
            if needle in text[after:]:
                return text
            assert self.proc is not None
            if self.proc.poll() is not None and needle not in text[after:]:
                pytest.fail(f"dev exited with {self.proc.returncode} before {needle!r}:\n{text[-4000:]}")
            time.sleep(0.2)
        pytest.fail(f"no {needle!r} within {timeout:.0f} s:\n{self.text()[-4000:]}")

    def pid_of(self, service: str) -> int:
        return int((self.dir / "run" / f"{service}.pid").read_text())

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"


def _wait_dead(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not process_alive(pid)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    root = tmp_path_factory.mktemp("dev")
    ports = {
        "kafka": _pair(),
        "pg": _pair(),  # the standby takes pg + 1
        "gateway": free_port(),
        "analytics": free_port(),
        "metrics": _pair(),  # two replicas: metrics and metrics + 1
        "prometheus": free_port(),
    }
    d = Dev(root / "stack", ports, root / "dev.log")
    d.start()
    try:
        yield d
    finally:
        if d.proc is not None and d.proc.poll() is None:
            d.proc.send_signal(signal.SIGTERM)
            try:
                d.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(d.proc.pid, signal.SIGKILL)


def test_a_killed_consumer_is_restarted_and_the_rest_keeps_running(dev: Dev) -> None:
    dev.wait_for("[dev] stack ready", 240)
    victim = dev.pid_of("consumer-1")
    gateway = dev.pid_of("gateway")
    mark = len(dev.text())
    os.kill(victim, signal.SIGKILL)
    dev.wait_for("consumer-1 crashed (killed by SIGKILL)", 10, after=mark)
    text = dev.wait_for("consumer-1 restarted", 15, after=mark)
    assert "stopping everything" not in text
    assert dev.pid_of("consumer-1") != victim
    assert process_alive(dev.pid_of("consumer-1"))
    assert dev.pid_of("gateway") == gateway, "the gateway was restarted too"
    assert httpx.get(f"{dev.url('gateway')}/healthz", timeout=5).status_code == 200
    assert httpx.get(f"{dev.url('analytics')}/healthz", timeout=5).status_code == 200
    assert dev.proc is not None
    assert dev.proc.poll() is None


def test_a_second_dev_on_the_same_folder_is_refused(dev: Dev) -> None:
    dev.wait_for("[dev] stack ready", 240)
    before = {name: dev.pid_of(name) for name in ("gateway", "analytics")}
    second = subprocess.run(dev.argv(), capture_output=True, text=True, timeout=60, check=False)
    assert second.returncode == 1
    assert dev.proc is not None
    assert second.stdout.strip().splitlines() == [
        f"[dev] another `energy-ingest dev` (pid {dev.proc.pid}) is running on {dev.dir}; "
        "stop it first, or pass --dir"
    ]
    assert {name: dev.pid_of(name) for name in before} == before
    assert all(process_alive(pid) for pid in before.values()), (
        "the second dev stopped the first one's services"
    )


def test_with_pg_replica_the_analytics_api_reads_the_standby(dev: Dev) -> None:
    dev.wait_for("[dev] stack ready", 240)
    env = dict(
        line.removeprefix("export ").split("=", 1)
        for line in (dev.dir / "env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    standby_port = dev.ports["pg"] + 1
    assert f":{standby_port}/" in env["ANALYTICS_DATABASE_URL"]
    assert f":{dev.ports['pg']}/" in env["ANALYTICS_PRIMARY_DATABASE_URL"]
    token = env["ANALYTICS_TOKEN"]
    r = httpx.get(f"{dev.url('analytics')}/readyz", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["readSource"] == "standby"
    assert r.headers["X-Read-Source"] == "standby"


def test_no_service_outlives_a_killed_supervisor_and_the_next_run_cleans_up(dev: Dev) -> None:
    dev.wait_for("[dev] stack ready", 240)
    services = {
        name: dev.pid_of(name) for name in ("gateway", "consumer-1", "consumer-2", "retention", "analytics")
    }
    assert dev.proc is not None
    os.kill(dev.proc.pid, signal.SIGKILL)  # the supervisor only: its children are not signalled
    dev.proc.wait(5)
    orphans = {name: pid for name, pid in services.items() if not _wait_dead(pid, 15)}
    for pid in orphans.values():
        os.kill(pid, signal.SIGKILL)
    assert orphans == {}, f"services outlived their supervisor: {orphans}"
    for name in ("gateway", "analytics"):
        assert port_is_free(dev.ports[name]), f"{name}'s port is still held"
    # Kafka, PostgreSQL and Prometheus run in sessions of their own and are still up: the
    # next run must find and stop them, then come up on the same ports.
    mark = len(dev.text())
    dev.start()
    text = dev.wait_for("[dev] stack ready", 240, after=mark)
    assert "stopping leftover process" in text[mark:]
    assert "already in use" not in text[mark:]
    assert httpx.get(f"{dev.url('gateway')}/readyz", timeout=5).status_code == 200


def test_a_taken_port_is_one_plain_line(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        d = Dev(
            tmp_path / "stack",
            {
                "kafka": _pair(),
                "pg": _pair(),  # the standby takes pg + 1
                "gateway": port,
                "analytics": free_port(),
                "metrics": _pair(),
                "prometheus": free_port(),
            },
            tmp_path / "dev.log",
        )
        d.start()
        assert d.proc is not None
        assert d.proc.wait(60) == 1
    lines = d.text().strip().splitlines()
    me = Path(f"/proc/{os.getpid()}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    assert lines == [
        f"[dev] port {port} (gateway) is already in use by pid {os.getpid()} ({me[:120]});"
        " stop it or pass --gateway-port"
    ]
