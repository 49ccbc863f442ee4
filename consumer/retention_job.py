"""The retention job: drops history days older than ``RETENTION_DAYS``, under its own login,
and rewrites each closed day's hourly rollups in hour order (:mod:`consumer.compaction`).

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

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")


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
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.check_s)


async def _compact(settings: RetentionSettings) -> list[tuple[date, int]]:
    return await compact_due(
        settings.database_url, lookback_days=settings.compact_lookback_days, grace_s=settings.compact_grace_s
    )


async def once(settings: RetentionSettings) -> tuple[int, list[tuple[date, int]]]:
    """Drop and compact now: how many partitions went (0 when retention is off), and the
    days compacted with their rows."""
    cutoff = Retention(settings.retention_days).oldest_day()
    dropped = 0 if cutoff is None else await PartitionDropper(settings.database_url).drop_before(cutoff)
    return dropped, await _compact(settings)


async def _serve(settings: RetentionSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(settings, stop)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: 0 when stopped (or done with ``--once``), 3 when halted."""
    parser = argparse.ArgumentParser(prog="energy-ingest retention", description=__doc__)
    parser.add_argument("--once", action="store_true", help="drop and compact what is due now and exit")
    args = parser.parse_args(argv)
    settings = RetentionSettings()
    configure("retention", settings.log_level)
    try:
        if args.once:
            dropped, compacted = asyncio.run(once(settings))
            print(f"dropped {dropped} partition(s) before the {settings.retention_days}-day horizon")
            print(
                f"compacted the hourly rollups of {len(compacted)} closed day(s)",
                *(str(d) for d, _ in compacted),
            )
        else:
            asyncio.run(_serve(settings))
    except (FatalError, RecoverableError) as exc:
        log.critical("retention halted: %s", exc)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
