"""Retention: history days older than the horizon are dropped, readings for them rejected."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from consumer import metrics
from consumer.errors import RecoverableError
from consumer.writer import BatchWriter

log = logging.getLogger(__name__)

RETRY_AFTER_S = 60.0


def utc_today() -> date:
    return datetime.now(UTC).date()


class Retention:
    """Keeps ``days`` whole UTC days before today (0: keep everything).

    The drop runs once per new horizon (so about once a day per worker; the SQL function
    is idempotent, so replicas doing it too is harmless). If the database is away it is
    tried again after a minute, not on every batch.
    """

    def __init__(
        self,
        days: int,
        writer: BatchWriter,
        today: Callable[[], date] = utc_today,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._days = days
        self._writer = writer
        self._today = today
        self._clock = clock
        self._done_for: date | None = None
        self._next_try = 0.0

    def oldest_day(self) -> date | None:
        """The first day still kept; readings before it are rejected as ``expired``."""
        if self._days <= 0:
            return None
        return self._today() - timedelta(days=self._days)

    def due(self) -> bool:
        """Whether :meth:`apply` has work to do now (it needs the writer's connection)."""
        cutoff = self.oldest_day()
        return not (cutoff is None or cutoff == self._done_for or self._clock() < self._next_try)

    async def apply(self) -> None:
        """Drop the days before the horizon if not done yet for this horizon."""
        cutoff = self.oldest_day()
        if cutoff is None or not self.due():
            return
        try:
            dropped = await self._writer.drop_before(cutoff)
        except RecoverableError as exc:
            metrics.RETRIES.labels("retention").inc()
            self._next_try = self._clock() + RETRY_AFTER_S
            log.warning("retention postponed", extra={"error": str(exc), "retry_in_s": RETRY_AFTER_S})
            return
        self._done_for = cutoff
        log.info("retention applied", extra={"dropped_partitions": dropped, "before": str(cutoff)})
