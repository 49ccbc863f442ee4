"""A service started with a lifeline dies with its supervisor; a taken port names its holder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from devstack.ports import port_holder, port_in_use_message, port_is_free
from tests.support import process_alive

# A "supervisor" that starts a "service" bound to it, prints the service's pid, then sleeps.
SUPERVISOR = """
import os, subprocess, sys
env = {**os.environ, "ENERGY_INGEST_PARENT_PID": str(os.getpid())}
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], env=env, start_new_session=True)
print(child.pid, flush=True)
import time; time.sleep(600)
"""
SERVICE = """
from energy_ingest.lifeline import bind_to_parent
bind_to_parent()
import time; time.sleep(600)
"""


def test_service_dies_when_its_supervisor_is_killed() -> None:
    sup = subprocess.Popen([sys.executable, "-c", SUPERVISOR, SERVICE], stdout=subprocess.PIPE, text=True)
    assert sup.stdout is not None
    child = int(sup.stdout.readline())
    time.sleep(1.0)  # let the child reach bind_to_parent
    assert process_alive(child)
    sup.send_signal(signal.SIGKILL)
    sup.wait(5)
    deadline = time.monotonic() + 5
    while process_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = process_alive(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive, "the service outlived its SIGKILLed supervisor"


def test_service_whose_supervisor_is_already_gone_exits() -> None:
    env = {**os.environ, "ENERGY_INGEST_PARENT_PID": "1"}  # not our parent: the supervisor is gone
    done = subprocess.run(
        [sys.executable, "-c", SERVICE], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 1
    assert "supervisor that started this service is gone" in done.stderr


def test_a_taken_port_names_its_holder() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert not port_is_free(port)
        holder = port_holder(port)
        assert holder is not None
        assert holder[0] == os.getpid()
        assert "pytest" in holder[1]
        line = port_in_use_message(port, "gateway", "choose another with --gateway-port")
        assert line.startswith(f"port {port} (gateway) is already in use by pid {os.getpid()} (")
        assert line.endswith("; choose another with --gateway-port")
    assert port_is_free(port)
    assert port_holder(port) is None
