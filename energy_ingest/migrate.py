"""Apply the numbered migrations in ``sql/migrations`` exactly once each."""

from __future__ import annotations

import logging

import psycopg

from sql import Migration, migrations

log = logging.getLogger(__name__)

_LOCK_KEY = 0x656E6572  # one migrator at a time across processes

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationChecksumError(RuntimeError):
    """An applied migration file was edited afterwards."""

    def __init__(self, migration: Migration, recorded: str) -> None:
        super().__init__(
            f"migration {migration.version:04d}_{migration.name} changed after it was applied "
            f"(recorded checksum {recorded[:12]}, file {migration.checksum[:12]}); "
            "add a new migration instead of editing an applied one"
        )


def migrate(database_url: str) -> list[Migration]:
    """Apply pending migrations; returns those applied now. Idempotent."""
    applied_now: list[Migration] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(_BOOKKEEPING)
            done: dict[int, str] = dict(
                conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
            )
            for m in migrations():
                if m.version in done:
                    if done[m.version] != m.checksum:
                        raise MigrationChecksumError(m, done[m.version])
                    continue
                with conn.transaction():
                    conn.execute(m.text.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                        (m.version, m.name, m.checksum),
                    )
                log.info("applied migration %04d_%s", m.version, m.name)
                applied_now.append(m)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now
