"""What the containers backend takes from docker-compose.yml: the images and Kafka's start.

The Kafka service's own start script (it writes ``server.properties`` and formats the
storage with the SCRAM users on first start) is reused as it is, with one change: the
listener it advertises is the address the tests reach the container on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # schemathesis's dependency; no stubs installed

from tests.backends.errors import ComposeDriftError

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
KAFKA_SERVICE = "kafka"
POSTGRES_SERVICE = "postgres"
KAFKA_PORT = 9092
"""The SASL_PLAINTEXT listener's port inside the container."""
_ADVERTISED = re.compile(r"^(?P<indent>[ \t]*)advertised\.listeners=SASL_PLAINTEXT://kafka:9092[ \t]*$", re.M)
_SCRAM_USER = re.compile(r"name=(?P<user>[A-Za-z0-9_-]+),password=\$(?P<var>[A-Z0-9_]+)\]")


@dataclass(frozen=True, slots=True)
class KafkaStart:
    """The compose Kafka service's image and start script (compose's ``$$`` undone)."""

    image: str
    script: str

    def users(self) -> dict[str, str]:
        """SCRAM user -> the variable holding its password, as the script formats them."""
        return {m["user"]: m["var"] for m in _SCRAM_USER.finditer(self.script)}

    def script_for(self, host: str, port: int) -> str:
        """The script, advertising ``host:port`` (where clients reach the listener)."""
        line = f"advertised.listeners=SASL_PLAINTEXT://{host}:{port}"
        return _ADVERTISED.sub(lambda m: m["indent"] + line, self.script)


def load(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The compose file's ``services``."""
    services = yaml.safe_load(path.read_text()).get("services")
    if not isinstance(services, dict):
        raise ComposeDriftError("no services")
    return services


def image_of(services: dict[str, Any], name: str) -> str:
    """The ``image`` of service ``name``."""
    image = services.get(name, {}).get("image")
    if not isinstance(image, str):
        raise ComposeDriftError(f"service {name!r} has no image")
    return image


def kafka_start(services: dict[str, Any]) -> KafkaStart:
    """The Kafka service's image and script, checked to be what the backend can adapt."""
    service = services.get(KAFKA_SERVICE, {})
    command = service.get("command")
    if service.get("entrypoint") != ["bash", "-ec"] or not (isinstance(command, list) and len(command) == 1):
        raise ComposeDriftError(f"service {KAFKA_SERVICE!r} is no longer one script run by `bash -ec`")
    raw = str(command[0])
    if "$" in raw.replace("$$", ""):
        raise ComposeDriftError(f"the {KAFKA_SERVICE!r} script uses compose variables (a single `$`)")
    script = raw.replace("$$", "$")
    if len(_ADVERTISED.findall(script)) != 1:
        raise ComposeDriftError(
            "the Kafka script has no single `advertised.listeners=SASL_PLAINTEXT://kafka:9092`"
        )
    start = KafkaStart(image_of(services, KAFKA_SERVICE), script)
    if not start.users():
        raise ComposeDriftError("the Kafka script formats no SCRAM user (`name=<user>,password=$VAR]`)")
    return start
