"""The containers backend's configuration, checked without Docker: the images and the
Kafka start script of docker-compose.yml, the variables the fixtures get, the settings."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from common.kafka import KafkaAccess
from devstack import KAFKA_VERSION, KafkaBroker
from devstack.kafka import ADMIN_USER
from devstack.postgres import SETTINGS
from devstack.stack import SERVICE_USERS
from tests.backends import compose
from tests.backends.compose import COMPOSE_FILE, KAFKA_PORT
from tests.backends.containers import (
    ContainerKafka,
    ContainerPostgres,
    kafka_client_env,
    postgres_command,
)
from tests.backends.errors import ComposeDriftError

NO_ENGINE = {"version": "1.44"}  # a Docker client that asks no engine for its API version


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    """docker-compose.yml's services, parsed here independently of the backend."""
    parsed: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    return parsed


def test_the_containers_run_the_images_of_docker_compose(services: dict[str, Any]) -> None:
    kafka = ContainerKafka(docker_client_kw=NO_ENGINE)
    postgres = ContainerPostgres(docker_client_kw=NO_ENGINE)
    assert kafka.container.image == services["kafka"]["image"]
    assert postgres.container.image == services["postgres"]["image"]
    # and the Kafka the compose image runs is the one devstack's jars are
    assert services["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"


def test_kafka_starts_with_the_compose_script_advertising_the_tests_address(services: dict[str, Any]) -> None:
    kafka = ContainerKafka(docker_client_kw=NO_ENGINE)
    container = kafka.container
    host_port = container.ports[str(KAFKA_PORT)]
    assert isinstance(host_port, int)
    assert host_port > 0
    assert container._kwargs["entrypoint"] == services["kafka"]["entrypoint"]
    # each password under the variable compose passes, and nothing else (no Confluent settings)
    assert set(container.env) == set(services["kafka"]["environment"])

    script = kafka.compose_start.script_for("127.0.0.1", host_port)
    theirs = services["kafka"]["command"][0].replace("$$", "$").splitlines()
    ours = script.splitlines()
    changed = [(a, b) for a, b in zip(theirs, ours, strict=True) if a != b]
    assert changed == [
        (
            "advertised.listeners=SASL_PLAINTEXT://kafka:9092",
            f"advertised.listeners=SASL_PLAINTEXT://127.0.0.1:{host_port}",
        )
    ]
    assert subprocess.run(["bash", "-n"], input=script, text=True, check=False).returncode == 0


def test_kafka_formats_the_same_scram_users_as_devstack() -> None:
    start = compose.kafka_start(compose.load())
    assert tuple(start.users()) == (ADMIN_USER, *SERVICE_USERS)


def test_the_fixtures_get_the_variables_devstack_gives(tmp_path: Path) -> None:
    broker = KafkaBroker(tmp_path, 9092, 9093, users=SERVICE_USERS)
    passwords = {user: f"pw-{user}" for user in broker.users}
    broker.credentials_file.write_text(json.dumps(passwords))
    devstack_env = broker.env()

    start = compose.kafka_start(compose.load())
    env = kafka_client_env(start, "localhost:40000", passwords)
    assert env == devstack_env | {"KAFKA_BOOTSTRAP_SERVERS": "localhost:40000"}
    admin = KafkaAccess.admin_from(env).aiokafka_kwargs()
    assert admin["sasl_plain_username"] == "admin"
    assert admin["sasl_plain_password"] == "pw-admin"


def test_postgres_runs_with_devstacks_settings_and_its_superuser() -> None:
    argv = postgres_command()
    assert argv[0] == "postgres"
    settings = dict(
        value.split("=", 1) for flag, value in zip(argv[1::2], argv[2::2], strict=True) if flag == "-c"
    )
    assert settings == {k: v for k, v in SETTINGS.items() if k != "listen_addresses"}
    assert settings["max_connections"] == "200"

    server = ContainerPostgres(docker_client_kw=NO_ENGINE)
    assert server.container.username == "postgres"
    assert server.container.dbname == "energy"
    assert server.container._command == argv
    assert isinstance(server.container.ports["5432"], int)


@pytest.mark.parametrize(
    ("edit", "what"),
    [
        (lambda s: s.replace("SASL_PLAINTEXT://kafka:9092", "SASL_PLAINTEXT://kafka-1:9092"), "advertised"),
        (lambda s: s.replace("$$KAFKA_ADMIN_PASSWORD", "${KAFKA_ADMIN_PASSWORD}", 1), "compose variables"),
        (lambda s: s.replace('entrypoint: ["bash", "-ec"]', 'entrypoint: ["sh", "-c"]'), "bash -ec"),
        (lambda s: s.replace("name=consumer,password=", "name=consumer,pw="), None),
    ],
)
def test_a_compose_file_the_backend_cannot_adapt_is_named(
    tmp_path: Path, edit: Any, what: str | None
) -> None:
    changed = edit(COMPOSE_FILE.read_text())
    assert changed != COMPOSE_FILE.read_text()
    path = tmp_path / "docker-compose.yml"
    path.write_text(changed)
    if what is None:  # a user the script no longer formats: the users list says so
        assert "consumer" not in compose.kafka_start(compose.load(path)).users()
        return
    with pytest.raises(ComposeDriftError, match=what):
        compose.kafka_start(compose.load(path))
