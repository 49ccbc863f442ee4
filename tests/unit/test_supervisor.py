"""The supervisor's decisions (restart, back-off, halt), on scripted children and a fake clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from energy_ingest.supervisor import RestartPolicy, Service, State, Supervisor, describe_exit


class Scripted:
    """A child that exits with a given code when told to."""

    pids = iter(range(1000, 2000))

    def __init__(self, name: str) -> None:
        self.name = name
        self.pid = next(self.pids)
        self.code: int | None = None
        self.stopped = False

    def alive(self) -> bool:
        return self.code is None

    def returncode(self) -> int | None:
        return self.code

    def tail(self, lines: int = 40) -> str:
        return "last line of the child"

    def stop(self, timeout: float = 20.0) -> int | None:
        self.stopped = True
        return self.code


class Harness:
    def __init__(self, tmp: Path) -> None:
        self.now = 100.0
        self.lines: list[str] = []
        self.children: dict[str, list[Scripted]] = {}
        self.sup = Supervisor(
            tmp / "run",
            policy=RestartPolicy(first_delay_s=1, max_delay_s=8, stable_after_s=30),
            say=self.lines.append,
            clock=lambda: self.now,
            spawn=self.spawn,
        )
        self.sup.run_dir.mkdir()

    def spawn(self, service: Service) -> Scripted:
        child = Scripted(service.name)
        self.children.setdefault(service.name, []).append(child)
        return child

    def latest(self, name: str) -> Scripted:
        return self.children[name][-1]

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.sup.poll()


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    harness = Harness(tmp_path)
    for name in ("gateway", "consumer-1", "analytics"):
        harness.sup.add(name, [name], {}, can_halt=name.startswith("consumer"))
    harness.sup.start()
    return harness


def test_a_crash_restarts_only_that_service_after_the_back_off(h: Harness) -> None:
    h.latest("consumer-1").code = -9
    h.advance(0.1)
    service = h.sup.services[1]
    assert service.state.value == State.WAITING.value
    assert "consumer-1 crashed (killed by SIGKILL)" in h.lines[-1]
    assert "restarting in 1.0 s" in h.lines[-1]
    h.advance(0.5)
    assert len(h.children["consumer-1"]) == 1, "restarted before the back-off ended"
    h.advance(0.6)
    assert len(h.children["consumer-1"]) == 2
    assert service.state is State.RUNNING
    assert service.restarts == 1
    assert [len(h.children[n]) for n in ("gateway", "analytics")] == [1, 1], "others were touched"
    assert not any(c.stopped for n in ("gateway", "analytics") for c in h.children[n])


def test_back_off_doubles_to_its_ceiling_and_resets_after_a_stable_run(h: Harness) -> None:
    delays = []
    for _ in range(6):
        h.latest("gateway").code = 1
        h.advance(0.1)
        service = h.sup.services[0]
        delays.append(service.restart_at - h.now)
        h.advance(service.restart_at - h.now)
    assert delays == [1, 2, 4, 8, 8, 8]
    h.advance(31)  # a long, healthy run
    h.latest("gateway").code = 1
    h.advance(0.1)
    assert h.sup.services[0].restart_at - h.now == 1


def test_a_deliberate_halt_stays_down_and_is_reported_loudly(h: Harness) -> None:
    h.latest("consumer-1").code = 3
    h.advance(0.1)
    h.advance(120)
    service = h.sup.services[1]
    assert service.state is State.HALTED
    assert len(h.children["consumer-1"]) == 1, "a halted consumer was restarted"
    assert "HALTED on purpose (exit 3)" in h.lines[-1]
    assert "last line of the child" in h.lines[-1]
    assert [s.name for s in h.sup.running()] == ["gateway", "analytics"]


def test_exit_3_of_a_service_that_cannot_halt_is_a_crash(h: Harness) -> None:
    h.latest("gateway").code = 3  # uvicorn's exit code when it cannot bind its port
    h.advance(0.1)
    assert h.sup.services[0].state.value == State.WAITING.value
    assert "gateway crashed (exit 3)" in h.lines[-1]


def test_pid_files_follow_the_children(h: Harness) -> None:
    files = {p.name: int(p.read_text()) for p in h.sup.run_dir.glob("*.pid")}
    assert files == {f"{n}.pid": h.latest(n).pid for n in ("gateway", "consumer-1", "analytics")}
    h.latest("consumer-1").code = 3
    h.advance(0.1)
    assert not (h.sup.run_dir / "consumer-1.pid").exists()
    h.sup.stop()
    assert list(h.sup.run_dir.glob("*.pid")) == []
    assert all(c.stopped for cs in h.children.values() for c in cs)


def test_exit_descriptions() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(3) == "exit 3"
    assert describe_exit(None) == "no exit code"
