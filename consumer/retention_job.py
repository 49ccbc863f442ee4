"""The retention job: drops history days older than ``RETENTION_DAYS``, under its own login,
rewrites each closed day's hourly rollups in hour order (:mod:`consumer.compaction`), and
keeps the stored fleet answers (:mod:`analytics_api.answer_store`, ranked through a reader's
login: ``FLEET_ANSWER_READ_URL`` or ``ANALYTICS_DATABASE_URL``).

``energy-ingest retention`` (``python -m consumer.retention_job`` in the service image)
connects as a member of ``energy_retention``, the only role that may execute the
partition-drop function: consumer credentials cannot wipe history. It checks every
``RETENTION_CHECK_S`` and drops once per new horizon (about once a day); ``--once``
drops now and exits. Consumers still reject readings older than the horizon.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import date

import psycopg
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from analytics_api.answer_store import StorePlan, StoreReport, refresh
from common.logs import configure
from consumer.compaction import compact_due, retention_connection
from consumer.errors import FatalError, RecoverableError
from consumer.retention import Retention
from sql import query

log = logging.getLogger(__name__)


class RetentionSettings(BaseSettings):
    """The job's knobs. Environment names are given as aliases."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    database_url: str = Field(
        validation_alias="RETENTION_DATABASE_URL",
        description="PostgreSQL URL of a member of energy_retention",
    )
    retention_days: int = Field(0, ge=0, validation_alias="RETENTION_DAYS", description="0 keeps everything")
    check_s: float = Field(60.0, gt=0, validation_alias="RETENTION_CHECK_S")
    compact_lookback_days: int = Field(
        7, ge=0, validation_alias="COMPACT_LOOKBACK_DAYS", description="closed days compacted; 0 = off"
    )
    compact_grace_s: int = Field(
        3600, ge=0, validation_alias="COMPACT_GRACE_S", description="after a day ends, before compacting it"
    )
    fleet_answer_days: int = Field(
        7,
        ge=0,
        validation_alias="FLEET_ANSWER_DAYS",
        description="days of windows whose fleet answers are stored; 0 = off",
    )
    fleet_answer_lengths_h: str = Field(
        "24,25,168,169",
        validation_alias="FLEET_ANSWER_LENGTHS_H",
        description="window lengths stored, in hours (a last 24 h asked inside an hour is rounded to 25)",
    )
    fleet_answer_grace_s: int = Field(
        3600,
        ge=0,
        validation_alias="FLEET_ANSWER_GRACE_S",
        description="after an hour ends, before answers end there",
    )
    fleet_answer_budget_s: float = Field(
        60.0,
        gt=0,
        validation_alias="FLEET_ANSWER_BUDGET_S",
        description="time spent computing answers per check",
    )
    low_efficiency_threshold: float = Field(0.85, gt=0, validation_alias="LOW_EFFICIENCY_THRESHOLD")
    fleet_answer_read_url: str | None = Field(
        None,
        validation_alias=AliasChoices("FLEET_ANSWER_READ_URL", "ANALYTICS_DATABASE_URL"),
        description="a reader's URL (the analytics API's) to rank through; unset: no stored answers",
    )
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")

    def store_plan(self) -> StorePlan:
        """The stored fleet answers this job keeps (:mod:`analytics_api.answer_store`)."""
        lengths = tuple(int(h) for h in self.fleet_answer_lengths_h.split(",") if h.strip())
        return StorePlan(
            days=self.fleet_answer_days,
            lengths_h=lengths,
            grace_s=self.fleet_answer_grace_s,
            budget_s=self.fleet_answer_budget_s,
            threshold=self.low_efficiency_threshold,
        )


class PartitionDropper:
    """One short connection per drop (it runs about once a day)."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url

    async def drop_before(self, cutoff: date) -> int:
        async with retention_connection(self._url, "drop partitions") as conn:
            cur = await conn.execute(query("drop_partitions"), {"cutoff": cutoff})
            row = await cur.fetchone()
        return int(str(row[0])) if row else 0


async def run(settings: RetentionSettings, stop: asyncio.Event) -> None:
    """Apply retention whenever due, until ``stop``."""
    retention = Retention(settings.retention_days, PartitionDropper(settings.database_url))
    if retention.oldest_day() is None:
        log.info("retention is off (RETENTION_DAYS=0); nothing to do")
    while not stop.is_set():
        await retention.apply()
        try:
            await _compact(settings)
        except RecoverableError as exc:
            log.warning("rollup compaction: database unreachable; next check", extra={"error": str(exc)})
        try:
            await store_answers(settings)
        except RecoverableError as exc:
            log.warning("stored fleet answers: failed; next check", extra={"error": str(exc)})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.check_s)


async def _compact(settings: RetentionSettings) -> list[tuple[date, int]]:
    return await compact_due(
        settings.database_url, lookback_days=settings.compact_lookback_days, grace_s=settings.compact_grace_s
    )


async def store_answers(settings: RetentionSettings) -> StoreReport:
    """Compute the stored fleet answers that are missing or stale (one check); nothing
    without a reader's URL to rank through."""
    if settings.fleet_answer_read_url is None:
        return StoreReport()
    async with retention_connection(settings.database_url, "store fleet answers") as write:
        try:
            async with await psycopg.AsyncConnection.connect(
                settings.fleet_answer_read_url,
                connect_timeout=5,
                autocommit=True,
                application_name="energy-retention",
            ) as read:
                report = await refresh(read, write, settings.store_plan())
        except psycopg.Error as exc:  # unreachable, a timeout, a reader without the right
            # the stored answers only spare the API the live query: retention goes on
            raise RecoverableError(f"stored fleet answers: {exc}") from exc
    if report.computed or report.left:
        log.info(
            "stored fleet answers",
            extra={
                "computed": report.computed,
                "left": report.left,
                "wanted": report.wanted,
                "pruned": report.pruned,
                "seconds": report.seconds,
                "horizon": str(report.horizon),
            },
        )
    return report


async def once(settings: RetentionSettings) -> tuple[int, list[tuple[date, int]], StoreReport]:
    """Drop, compact and store fleet answers now: how many partitions went (0 when retention
    is off), the days compacted with their rows, and what the answer store did."""
    cutoff = Retention(settings.retention_days).oldest_day()
    dropped = 0 if cutoff is None else await PartitionDropper(settings.database_url).drop_before(cutoff)
    compacted = await _compact(settings)
    return dropped, compacted, await store_answers(settings)


async def _serve(settings: RetentionSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(settings, stop)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: 0 when stopped (or done with ``--once``), 3 when halted."""
    parser = argparse.ArgumentParser(prog="energy-ingest retention", description=__doc__)
    parser.add_argument(
        "--once", action="store_true", help="drop, compact and store the fleet answers due now, and exit"
    )
    args = parser.parse_args(argv)
    settings = RetentionSettings()
    configure("retention", settings.log_level)
    try:
        if args.once:
            dropped, compacted, stored = asyncio.run(once(settings))
            print(f"dropped {dropped} partition(s) before the {settings.retention_days}-day horizon")
            print(
                f"compacted the hourly rollups of {len(compacted)} closed day(s)",
                *(str(d) for d, _ in compacted),
            )
            if settings.fleet_answer_read_url is None:
                print("stored fleet answers: off (no FLEET_ANSWER_READ_URL or ANALYTICS_DATABASE_URL)")
            else:
                print(
                    f"stored {stored.computed} fleet answer(s) of {stored.wanted} wanted "
                    f"({stored.left} left for the next check) in {stored.seconds} s; horizon {stored.horizon}"
                )
        else:
            asyncio.run(_serve(settings))
    except (FatalError, RecoverableError) as exc:
        log.critical("retention halted: %s", exc)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
