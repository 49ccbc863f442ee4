"""Mirror of the stored offsets into Kafka's group offsets, for lag tooling only.

PostgreSQL holds the offsets that count; these commits are best effort. One commit is
in flight at a time: offsets that arrive meanwhile replace older ones, so a slow or
unreachable broker never piles up tasks.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata, TopicPartition

log = logging.getLogger(__name__)

CLOSE_WAIT_S = 2.0


class OffsetMirror:
    """Coalesces offsets and commits them to Kafka from a single background task."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self._waiting: dict[TopicPartition, int] = {}
        self._task: asyncio.Task[None] | None = None

    def submit(self, offsets: dict[TopicPartition, int]) -> None:
        """Queue ``offsets`` (newest wins) and make sure the task runs."""
        self._waiting.update(offsets)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="offset-mirror")

    async def _drain(self) -> None:
        while self._waiting:
            offsets, self._waiting = self._waiting, {}
            owned = self._consumer.assignment()
            mine = {tp: OffsetAndMetadata(off, "") for tp, off in offsets.items() if tp in owned}
            if not mine:
                continue
            try:
                await self._consumer.commit(mine)
            except (KafkaError, AssertionError) as exc:  # aiokafka asserts on a lost assignment
                log.debug("kafka offset mirror skipped", extra={"error": repr(exc)})

    async def close(self) -> None:
        """Let the last commit finish briefly, then give up on it."""
        task, self._task = self._task, None
        if task is None or task.done():
            return
        _, pending = await asyncio.wait([task], timeout=CLOSE_WAIT_S)
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.wait(pending)
