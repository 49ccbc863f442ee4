"""Login users for each service, as members of one least-privilege group role."""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql


class ServiceRole(StrEnum):
    """The group roles created by migrations 0001 and 0010."""

    WRITER = "energy_writer"
    READER = "energy_reader"
    MAPPER = "energy_mapper"
    RETENTION = "energy_retention"  # migration 0010


def ensure_login(admin_url: str, user: str, password: str, role: ServiceRole) -> str:
    """Create (or update the password of) ``user`` in ``role``; returns its database URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
        verb = sql.SQL("ALTER") if exists else sql.SQL("CREATE")
        conn.execute(
            sql.SQL("{} ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOCREATEDB NOCREATEROLE").format(
                verb, sql.Identifier(user), sql.Literal(password)
            )
        )
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role.value), sql.Identifier(user)))
        dbname = conn.info.dbname
        conn.execute(
            sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
                sql.Identifier(dbname), sql.Identifier(role.value)
            )
        )
    return with_credentials(admin_url, user, password)


def with_credentials(url: str, user: str, password: str) -> str:
    """``url`` with its user and password replaced."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
