"""Retention: history days older than the horizon are dropped, readings for them rejected.

The consumer only rejects readings older than the horizon; dropping is the retention
job's (:mod:`consumer.retention_job`, ``energy-ingest retention``), under a login of its
own (``energy_retention``): the consumer's role may not drop history.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Protocol

from consumer import metrics
from consumer.errors import RecoverableError
from schemas.readings import retention_horizon

log = logging.getLogger(__name__)


class Dropper(Protocol):
    """Drops history days before a cutoff; returns how many partitions went."""

    async def drop_before(self, cutoff: date) -> int: ...


RETRY_AFTER_S = 60.0


def utc_today() -> date:
    return datetime.now(UTC).date()


class Retention:
    """Keeps ``days`` whole UTC days before today (0: keep everything).

    With a ``dropper`` (the retention job), the drop runs once per new horizon (about once
    a day; the SQL function is idempotent, so two jobs are harmless). If the database is
    away it is tried again after a minute. Without one (a consumer), only the horizon.
    """

    def __init__(
        self,
        days: int,
        dropper: Dropper | None = None,
        today: Callable[[], date] = utc_today,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._days = days
        self._dropper = dropper
        self._today = today
        self._clock = clock
        self._done_for: date | None = None
        self._next_try = 0.0

    def oldest_day(self) -> date | None:
        """The first day still kept; readings before it are rejected as ``expired``."""
        return retention_horizon(self._today(), self._days)

    def due(self) -> bool:
        """Whether :meth:`apply` has work to do now."""
        cutoff = self.oldest_day()
        if self._dropper is None or cutoff is None:
            return False
        return cutoff != self._done_for and self._clock() >= self._next_try

    async def apply(self) -> None:
        """Drop the days before the horizon if not done yet for this horizon."""
        cutoff = self.oldest_day()
        if cutoff is None or self._dropper is None or not self.due():
            return
        try:
            dropped = await self._dropper.drop_before(cutoff)
        except RecoverableError as exc:
            metrics.RETRIES.labels("retention").inc()
            self._next_try = self._clock() + RETRY_AFTER_S
            log.warning("retention postponed", extra={"error": str(exc), "retry_in_s": RETRY_AFTER_S})
            return
        self._done_for = cutoff
        log.info("retention applied", extra={"dropped_partitions": dropped, "before": str(cutoff)})
