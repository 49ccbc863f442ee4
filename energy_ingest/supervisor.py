"""The services of `energy-ingest dev`, kept running the way supervisord would.

A service that crashes is started again after a back-off that doubles up to a ceiling
(and resets once a run has lasted a while); one that halts on purpose (exit code 3, the
consumer's reject-flood or fatal-error stop) stays down and is reported loudly, because
starting it again would only repeat the halt. Every service is started with a parent-
death signal (:mod:`energy_ingest.lifeline`) and a pid file, so nothing outlives the
supervisor, and the leftovers of a supervisor that was itself SIGKILLed are found and
stopped by the next one.
"""

from __future__ import annotations

import enum
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from devstack._process import reap_stale
from devstack.ports import port_in_use_message, port_is_free
from energy_ingest.procs import ServiceProcess

HALT_EXIT_CODES = frozenset({3})
SERVICE_MARKER = "energy_ingest.cli"


class Child(Protocol):
    """What the supervisor needs of a started service (a :class:`ServiceProcess`)."""

    @property
    def name(self) -> str: ...

    @property
    def pid(self) -> int: ...

    def alive(self) -> bool: ...

    def returncode(self) -> int | None: ...

    def tail(self, lines: int = 40) -> str: ...

    def stop(self, timeout: float = 20.0) -> int | None: ...


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """When to start a crashed service again."""

    first_delay_s: float = 1.0
    max_delay_s: float = 30.0
    stable_after_s: float = 30.0  # a run at least this long resets the back-off
    halt_codes: frozenset[int] = HALT_EXIT_CODES  # for services added with can_halt=True

    def delay(self, crashes_in_a_row: int) -> float:
        """The wait before restart number ``crashes_in_a_row`` (1, 2, ...)."""
        return float(min(self.max_delay_s, self.first_delay_s * 2 ** max(0, crashes_in_a_row - 1)))


class State(enum.Enum):
    RUNNING = "running"
    WAITING = "waiting to restart"
    HALTED = "halted"
    STOPPED = "stopped"


@dataclass(slots=True)
class Service:
    """One supervised service and what happened to it."""

    name: str
    args: list[str]
    env: Mapping[str, str]
    ports: tuple[tuple[int, str], ...] = ()  # (port, hint) pairs it will listen on
    can_halt: bool = False  # its halt codes mean "stopped on purpose" (the consumer's exit 3)
    process: Child | None = None
    state: State = State.STOPPED
    started_at: float = 0.0
    restart_at: float = 0.0
    crashes_in_a_row: int = 0
    restarts: int = 0
    last_exit: int | None = None
    history: list[str] = field(default_factory=list)


class PortInUseError(RuntimeError):
    """A port a service needs is taken; the message is the one line to print."""


def describe_exit(code: int | None) -> str:
    """``exit 3`` or ``killed by SIGKILL``."""
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


class Supervisor:
    """Starts services, restarts crashed ones, keeps halted ones down, stops them all."""

    def __init__(
        self,
        run_dir: Path,
        *,
        policy: RestartPolicy | None = None,
        say: Callable[[str], None] = print,
        clock: Callable[[], float] = time.monotonic,
        spawn: Callable[[Service], Child] | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.policy = policy or RestartPolicy()
        self.services: list[Service] = []
        self._say = say
        self._clock = clock
        self._spawn = spawn or self._default_spawn
        self.on_change: Callable[[Supervisor], None] | None = None

    def add(
        self,
        name: str,
        args: list[str],
        env: Mapping[str, str],
        ports: tuple[tuple[int, str], ...] = (),
        *,
        can_halt: bool = False,
    ) -> Service:
        """Register a service (started by :meth:`start`). Only a ``can_halt`` service's halt
        codes keep it down: for the others (uvicorn exits 3 when it cannot bind) they are crashes."""
        service = Service(name, args, env, ports, can_halt=can_halt)
        self.services.append(service)
        return service

    def pidfile(self, service: Service) -> Path:
        return self.run_dir / f"{service.name}.pid"

    def reap_leftovers(self) -> None:
        """Stop services an earlier, killed supervisor left running (found by pid file)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for pidfile in sorted(self.run_dir.glob("*.pid")):
            reap_stale(pidfile, SERVICE_MARKER, signal.SIGTERM, timeout=15)

    def check_ports(self) -> None:
        """Raise :class:`PortInUseError` with one plain line for the first taken port."""
        for service in self.services:
            for port, hint in service.ports:
                if not port_is_free(port):
                    raise PortInUseError(port_in_use_message(port, service.name, hint))

    def start(self) -> None:
        """Start every registered service."""
        for service in self.services:
            self._start(service)

    def _default_spawn(self, service: Service) -> Child:
        return ServiceProcess(service.name, service.args, service.env, die_with_parent=True).start()

    def _start(self, service: Service) -> None:
        service.process = self._spawn(service)
        service.state = State.RUNNING
        service.started_at = self._clock()
        self.pidfile(service).write_text(f"{service.process.pid}\n")
        if self.on_change is not None:
            self.on_change(self)

    def poll(self) -> None:
        """Notice exits and start what is due; call it often (it never blocks)."""
        now = self._clock()
        for service in self.services:
            if service.state is State.RUNNING and service.process is not None and not service.process.alive():
                self._exited(service, service.process.returncode(), now)
            elif service.state is State.WAITING and now >= service.restart_at:
                service.restarts += 1
                self._start(service)
                assert service.process is not None
                self._say(f"{service.name} restarted (pid {service.process.pid}, restart {service.restarts})")

    def _exited(self, service: Service, code: int | None, now: float) -> None:
        service.last_exit = code
        service.history.append(describe_exit(code))
        self.pidfile(service).unlink(missing_ok=True)
        if service.can_halt and code in self.policy.halt_codes:
            service.state = State.HALTED
            tail = service.process.tail(12) if service.process is not None else ""
            self._say(
                f"*** {service.name} HALTED on purpose ({describe_exit(code)}): it stays down, the rest "
                "keeps running. Read its last lines below, fix the cause (for a reject flood: the "
                f"ingest_rejects table), then restart the stack. ***\n{tail}"
            )
        else:
            ran = now - service.started_at
            service.crashes_in_a_row = (
                1 if ran >= self.policy.stable_after_s else service.crashes_in_a_row + 1
            )
            delay = self.policy.delay(service.crashes_in_a_row)
            service.state = State.WAITING
            service.restart_at = now + delay
            self._say(
                f"{service.name} crashed ({describe_exit(code)}) after {ran:.1f} s; "
                f"restarting in {delay:.1f} s (crash {service.crashes_in_a_row} in a row)"
            )
        if self.on_change is not None:
            self.on_change(self)

    def running(self) -> list[Service]:
        """The services up right now."""
        return [s for s in self.services if s.state is State.RUNNING]

    def stop(self) -> None:
        """Stop every service, last started first."""
        for service in reversed(self.services):
            if service.process is not None:
                service.process.stop()
            service.state = State.STOPPED
            self.pidfile(service).unlink(missing_ok=True)
