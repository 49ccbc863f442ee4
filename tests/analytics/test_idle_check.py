"""The pool's connection check: a round trip only for a connection idle for a while (pure
logic, a settable clock and a stand-in connection)."""

from __future__ import annotations

from typing import Any, cast

from analytics_api.db import Conn, IdleCheck


class FakeConn:
    """What the pool's own check uses of a connection: ``autocommit``, ``execute``, ``closed``."""

    def __init__(self) -> None:
        self.autocommit = True
        self.closed = False
        self.round_trips = 0

    async def execute(self, statement: str) -> Any:
        self.round_trips += 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_only_connections_idle_for_a_while_are_checked_with_a_round_trip() -> None:
    clock = FakeClock()
    idle = IdleCheck(1.0, clock)
    fake = FakeConn()
    conn = cast(Conn, fake)
    await idle.check(conn)  # never handed back yet (a new connection): checked
    assert fake.round_trips == 1
    await idle.returned(conn)
    clock.now += 0.5
    await idle.check(conn)  # used half a second ago: not checked
    assert fake.round_trips == 1
    await idle.returned(conn)
    clock.now += 1.0
    await idle.check(conn)  # idle for a second: checked
    assert fake.round_trips == 2
    await idle.returned(conn)
    fake.closed = True
    await idle.check(conn)  # closed meanwhile: checked (the pool's check then fails)
    assert fake.round_trips == 3
