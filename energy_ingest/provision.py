"""Everything between "Kafka and PostgreSQL are up" and "services can start".

Migrations, least-privilege logins, topics, the auth secret and tokens, gathered into
the environment that the services and tools read (and that `make run` writes to
``.devstack/env``). Each service process sees only its share of the secrets
(:mod:`energy_ingest.service_env`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from common.kafka import KafkaAccess
from common.tokens import Scope, issue
from energy_ingest.kafka_acls import grant, service_acls
from energy_ingest.logins import ServiceRole, ensure_login
from energy_ingest.migrate import migrate
from energy_ingest.topics import create_topics

CONSUMER_GROUP = "energy-ingest"
"""The consumer's default group; its principal may use every group named with this prefix."""

DEV_TOKEN_TTL_S = 7 * 86400
"""The tokens written to the environment file are re-issued at each start and last a week."""


@dataclass(frozen=True, slots=True)
class Secrets:
    """Generated once per data folder, kept in a 0600 file."""

    auth_secret: str
    consumer_password: str
    analytics_password: str
    mapper_password: str
    retention_password: str

    @classmethod
    def load_or_create(cls, path: Path) -> Secrets:
        """The file's secrets; any it lacks (no file yet, or a newer field) is made and saved."""
        stored = json.loads(path.read_text()) if path.exists() else {}
        values = {f.name: stored.get(f.name) or secrets.token_urlsafe(32) for f in dataclasses.fields(cls)}
        if values != stored:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(values, f)
        return cls(**values)


def provision(
    admin_url: str,
    kafka_env: Mapping[str, str],
    secrets_file: Path,
    partitions: int = 12,
) -> dict[str, str]:
    """Migrate, create logins, topics, Kafka ACLs and tokens; return the services' environment.

    ``kafka_env`` is ``Stack.kafka_env()``: the bootstrap servers, the SASL settings, the
    admin principal that does the set-up and the services' principals that get the ACLs.
    """
    migrate(admin_url)
    s = Secrets.load_or_create(secrets_file)
    consumer_url = ensure_login(admin_url, "energy_consumer", s.consumer_password, ServiceRole.WRITER)
    analytics_url = ensure_login(admin_url, "energy_analytics", s.analytics_password, ServiceRole.READER)
    mapper_url = ensure_login(admin_url, "energy_mapper_api", s.mapper_password, ServiceRole.MAPPER)
    retention_url = ensure_login(
        admin_url, "energy_retention_job", s.retention_password, ServiceRole.RETENTION
    )
    kafka_admin = KafkaAccess.admin_from(kafka_env)
    asyncio.run(create_topics(kafka_admin, partitions))
    if kafka_admin.security_protocol != "PLAINTEXT":
        acls = service_acls(
            kafka_env["GATEWAY_KAFKA_USERNAME"], kafka_env["CONSUMER_KAFKA_USERNAME"], CONSUMER_GROUP
        )
        asyncio.run(grant(kafka_admin, acls))
    return {
        "DATABASE_URL": admin_url,
        "CONSUMER_DATABASE_URL": consumer_url,
        "ANALYTICS_DATABASE_URL": analytics_url,
        "MAPPING_DATABASE_URL": mapper_url,
        "RETENTION_DATABASE_URL": retention_url,
        **kafka_env,
        "AUTH_SECRET": s.auth_secret,
        "INGEST_TOKEN": issue(s.auth_secret, Scope.FLEET, "dev-fleet", ttl_s=DEV_TOKEN_TTL_S),
        "ANALYTICS_TOKEN": issue(s.auth_secret, Scope.ANALYST, "dev-analyst", ttl_s=DEV_TOKEN_TTL_S),
        "ADMIN_TOKEN": issue(s.auth_secret, Scope.ADMIN, "dev-admin", ttl_s=DEV_TOKEN_TTL_S),
    }


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """Shell ``KEY=value`` lines (values are URL-safe, so no quoting is needed), mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("# written by `energy-ingest dev`; load with: set -a; . .devstack/env; set +a\n")
        for key, value in env.items():
            f.write(f"{key}={value}\n")
