"""The CLI explains itself, and the Docker Compose file is valid where a validator exists."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from energy_ingest.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = [
    "dev",
    "gateway",
    "consumer",
    "analytics",
    "migrate",
    "topics",
    "token",
    "create-login",
    "map-meter",
    "simulate",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: energy-ingest {command}")
    assert len(out.splitlines()) > 3


def test_top_level_help_lists_every_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "energy_ingest.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in COMMANDS:
        assert command in out


def test_token_command_issues_a_verifiable_device_token() -> None:
    from common.tokens import Scope, verify

    secret = "s" * 40
    out = subprocess.run(
        [sys.executable, "-m", "energy_ingest.cli", "token", "device", "m-123"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "AUTH_SECRET": secret},
    ).stdout.strip()
    principal = verify(secret, out)
    assert principal.scope is Scope.DEVICE
    assert principal.subject == "m-123"


def _compose() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0
    ):
        return ["docker", "compose"]
    return None


@pytest.mark.skipif(_compose() is None, reason="no Docker Compose on this machine to validate with")
def test_compose_file_is_valid() -> None:
    compose = _compose()
    assert compose is not None
    env = {
        **os.environ,
        **{
            k: "x" * 32
            for k in (
                "AUTH_SECRET",
                "POSTGRES_PASSWORD",
                "CONSUMER_DB_PASSWORD",
                "ANALYTICS_DB_PASSWORD",
                "MAPPER_DB_PASSWORD",
                "RETENTION_DB_PASSWORD",
                "KAFKA_ADMIN_PASSWORD",
                "GATEWAY_KAFKA_PASSWORD",
                "CONSUMER_KAFKA_PASSWORD",
            )
        },
    }
    done = subprocess.run(
        [*compose, "config", "-q"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
