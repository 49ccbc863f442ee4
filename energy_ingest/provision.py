"""Everything between "Kafka and PostgreSQL are up" and "services can start".

Migrations, least-privilege logins, topics, the auth secret and tokens, gathered into
the environment that the services and tools read (and that `make run` writes to
``.devstack/env``).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from common.tokens import Scope, issue
from energy_ingest.logins import ServiceRole, ensure_login
from energy_ingest.migrate import migrate
from energy_ingest.topics import create_topics


@dataclass(frozen=True, slots=True)
class Secrets:
    """Generated once per data folder, kept in a 0600 file."""

    auth_secret: str
    consumer_password: str
    analytics_password: str
    mapper_password: str

    @classmethod
    def load_or_create(cls, path: Path) -> Secrets:
        if path.exists():
            return cls(**json.loads(path.read_text()))
        made = cls(*(secrets.token_urlsafe(32) for _ in range(4)))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(
                {
                    "auth_secret": made.auth_secret,
                    "consumer_password": made.consumer_password,
                    "analytics_password": made.analytics_password,
                    "mapper_password": made.mapper_password,
                },
                f,
            )
        return made


def provision(
    admin_url: str,
    kafka_bootstrap: str,
    secrets_file: Path,
    partitions: int = 12,
) -> dict[str, str]:
    """Migrate, create logins, topics and tokens; return the services' environment."""
    migrate(admin_url)
    s = Secrets.load_or_create(secrets_file)
    consumer_url = ensure_login(admin_url, "energy_consumer", s.consumer_password, ServiceRole.WRITER)
    analytics_url = ensure_login(admin_url, "energy_analytics", s.analytics_password, ServiceRole.READER)
    mapper_url = ensure_login(admin_url, "energy_mapper_api", s.mapper_password, ServiceRole.MAPPER)
    asyncio.run(create_topics(kafka_bootstrap, partitions))
    return {
        "DATABASE_URL": admin_url,
        "CONSUMER_DATABASE_URL": consumer_url,
        "ANALYTICS_DATABASE_URL": analytics_url,
        "MAPPING_DATABASE_URL": mapper_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "AUTH_SECRET": s.auth_secret,
        "INGEST_TOKEN": issue(s.auth_secret, Scope.FLEET, "dev-fleet"),
        "ANALYTICS_TOKEN": issue(s.auth_secret, Scope.ANALYST, "dev-analyst"),
        "ADMIN_TOKEN": issue(s.auth_secret, Scope.ADMIN, "dev-admin"),
    }


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """Shell ``KEY=value`` lines (values are URL-safe, so no quoting is needed), mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("# written by `energy-ingest dev`; load with: set -a; . .devstack/env; set +a\n")
        for key, value in env.items():
            f.write(f"{key}={value}\n")
