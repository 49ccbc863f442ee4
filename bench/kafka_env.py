"""Kafka settings of a benchmark's gateway: a fresh broker's, or a running stack's."""

from __future__ import annotations

import os
from collections.abc import Mapping


def running_kafka(bootstrap: str, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The ``KAFKA_*`` variables of the environment (e.g. ``.devstack/env`` loaded), at ``bootstrap``."""
    return {k: v for k, v in environ.items() if k.startswith("KAFKA_")} | {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap
    }


def gateway_as_admin(kafka_env: Mapping[str, str]) -> dict[str, str]:
    """``kafka_env`` with the admin principal as the gateway's: a benchmark grants no ACLs."""
    env = dict(kafka_env)
    if "KAFKA_ADMIN_USERNAME" in env:
        env["GATEWAY_KAFKA_USERNAME"] = env["KAFKA_ADMIN_USERNAME"]
        env["GATEWAY_KAFKA_PASSWORD"] = env.get("KAFKA_ADMIN_PASSWORD", "")
    return env
