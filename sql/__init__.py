"""SQL text of the project, loaded by name: numbered migrations and named queries."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from psycopg import sql as pgsql


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered migration file."""

    version: int
    name: str
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def migrations() -> list[Migration]:
    """All migrations, in version order (files named ``NNNN_name.sql``)."""
    found = []
    for entry in resources.files(__package__).joinpath("migrations").iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    found.sort(key=lambda m: m.version)
    return found


@cache
def query(name: str) -> pgsql.SQL:
    """The named query ``sql/queries/<name>.sql`` as a composable SQL object."""
    text = resources.files(__package__).joinpath("queries", f"{name}.sql").read_text()
    return pgsql.SQL(text)  # static files shipped with the package
