"""Which secrets each service process may see.

Provisioning gathers one environment for everything (``.devstack/env``), but a service
gets only the secrets of its own job: token keys go only to the services that verify
tokens (gateway, analytics), never to the consumer; the retention login only to the
retention job; the database owner's URL and the operator's tokens to no service (each
service has its own login's URL). Tools (any other command) get it all.
Add a variable to ``SCOPED`` to restrict it.
"""

from __future__ import annotations

from collections.abc import Mapping

SERVICES = frozenset({"gateway", "consumer", "analytics", "retention"})
VERIFIERS = frozenset({"gateway", "analytics"})
NONE: frozenset[str] = frozenset()

SCOPED: dict[str, frozenset[str]] = {
    "AUTH_SECRET": VERIFIERS,
    "AUTH_KEYS": VERIFIERS,
    "AUTH_KEYS_FILE": VERIFIERS,
    "AUTH_SIGNING_KID": NONE,
    "INGEST_TOKEN": NONE,
    "ANALYTICS_TOKEN": NONE,
    "ADMIN_TOKEN": NONE,
    "RETENTION_DATABASE_URL": frozenset({"retention"}),
    # Kafka: each service its own SASL principal; the admin's (set-up) for tools only.
    "GATEWAY_KAFKA_USERNAME": frozenset({"gateway"}),
    "GATEWAY_KAFKA_PASSWORD": frozenset({"gateway"}),
    "CONSUMER_KAFKA_USERNAME": frozenset({"consumer"}),
    "CONSUMER_KAFKA_PASSWORD": frozenset({"consumer"}),
    "KAFKA_ADMIN_USERNAME": NONE,
    "KAFKA_ADMIN_PASSWORD": NONE,
    "DATABASE_URL": NONE,  # the owner's; services use CONSUMER_/ANALYTICS_/MAPPING_DATABASE_URL
}


def service_env(command: str, env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without the variables that ``command`` (a service) must not see."""
    if command not in SERVICES:
        return dict(env)
    return {k: v for k, v in env.items() if command in SCOPED.get(k, SERVICES)}
