"""Kafka client settings: each service reads its own principal, and SASL without one fails early."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from common.kafka import KafkaAccess
from consumer.settings import ConsumerSettings
from ingest_gateway.settings import GatewaySettings

SASL = {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_BOOTSTRAP_SERVERS": "k:9092"}
PRINCIPALS = {
    "GATEWAY_KAFKA_USERNAME": "gateway",
    "GATEWAY_KAFKA_PASSWORD": "gw-secret",
    "CONSUMER_KAFKA_USERNAME": "consumer",
    "CONSUMER_KAFKA_PASSWORD": "co-secret",
    "KAFKA_SASL_USERNAME": "generic",
    "KAFKA_SASL_PASSWORD": "generic-secret",
}


def _env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name in (*SASL, *PRINCIPALS, "KAFKA_ADMIN_USERNAME", "KAFKA_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUTH_SECRET", "s" * 32)
    monkeypatch.setenv("CONSUMER_DATABASE_URL", "postgresql://u:p@h/db")
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_each_service_uses_its_own_principal_first(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, SASL | PRINCIPALS)
    gateway = GatewaySettings().kafka_access().aiokafka_kwargs()
    consumer = ConsumerSettings().kafka_access().aiokafka_kwargs()
    assert (gateway["sasl_plain_username"], gateway["sasl_plain_password"]) == ("gateway", "gw-secret")
    assert (consumer["sasl_plain_username"], consumer["sasl_plain_password"]) == ("consumer", "co-secret")
    assert gateway["security_protocol"] == "SASL_PLAINTEXT"
    assert gateway["sasl_mechanism"] == "SCRAM-SHA-512"
    assert gateway["bootstrap_servers"] == "k:9092"


def test_generic_principal_when_the_service_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, SASL | {"KAFKA_SASL_USERNAME": "generic", "KAFKA_SASL_PASSWORD": "generic-secret"})
    assert ConsumerSettings().kafka_access().aiokafka_kwargs()["sasl_plain_username"] == "generic"


def test_sasl_without_a_principal_fails_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, SASL)
    with pytest.raises(ValidationError, match="needs a SASL username and password"):
        GatewaySettings()
    with pytest.raises(ValidationError, match="needs a SASL username and password"):
        KafkaAccess.admin_from(SASL)


def test_plaintext_sends_no_sasl_options(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, {})
    assert ConsumerSettings().kafka_access().aiokafka_kwargs() == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "PLAINTEXT",
    }
