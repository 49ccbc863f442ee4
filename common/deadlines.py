"""Deadlines of one length for many requests, on one event-loop timer.

``asyncio.timeout`` arms a timer for every use (``loop.call_at``, and with uvloop that is
about 8 us of a 40 us gateway request: ``python -m bench.gateway_app``). Deadlines of one
length end in the order they start, so a queue in start order and one timer for its head
serve them all: starting one is an append, finishing one sets a flag.

A deadline applies only while its task waits in :meth:`Deadline.run`: a task found there
when the deadline passes is cancelled and :meth:`~Deadline.run` raises ``TimeoutError``;
a later :meth:`~Deadline.run` raises ``TimeoutError`` at once, without awaiting.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class Deadline:
    """One task's deadline (from :meth:`Deadlines.start`)."""

    __slots__ = ("_loop", "expired", "finished", "task", "waiting", "when")

    def __init__(self, loop: asyncio.AbstractEventLoop, when: float, task: asyncio.Task[object]) -> None:
        self._loop = loop
        self.when = when
        self.task = task
        self.finished = False
        self.expired = False
        self.waiting = False

    def finish(self) -> None:
        """The deadline no longer applies."""
        self.finished = True

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """``await call()``, or ``TimeoutError`` once the deadline has passed."""
        if self.expired or self._loop.time() >= self.when:
            self.expired = True
            raise TimeoutError
        self.waiting = True
        try:
            return await call()
        except asyncio.CancelledError:
            if self.expired and self.task.uncancel() == 0:
                raise TimeoutError from None
            raise  # cancelled by someone else as well
        finally:
            self.waiting = False


class Deadlines:
    """Deadlines of ``length_s`` seconds from their start, in the running event loop."""

    def __init__(self, length_s: float) -> None:
        self.length_s = length_s
        self._queue: deque[Deadline] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> Deadline:
        """A deadline for the current task, ``length_s`` from now."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        assert task is not None, "a deadline belongs to a task"
        if loop is not self._loop:  # a new loop (tests): nothing of the old one applies
            self._queue.clear()
            self._timer = None
            self._loop = loop
        deadline = Deadline(loop, loop.time() + self.length_s, task)
        queue = self._queue
        while queue and queue[0].finished:
            queue.popleft()
        queue.append(deadline)
        if self._timer is None:
            self._timer = loop.call_at(queue[0].when, self._expire, loop)
        return deadline

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        if loop is not self._loop:
            return
        now = loop.time()
        queue = self._queue
        while queue and (queue[0].finished or queue[0].when <= now):
            deadline = queue.popleft()
            if not deadline.finished:
                deadline.expired = True
                if deadline.waiting:
                    deadline.task.cancel()
        if queue:
            self._timer = loop.call_at(queue[0].when, self._expire, loop)
