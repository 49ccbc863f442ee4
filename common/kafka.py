"""How a process reaches Kafka: bootstrap servers, security protocol, SASL principal.

Every Kafka client of the project (the gateway's producer, the consumer's group
member, the operator's admin tools, the tests' and benchmarks' helpers) is built from a
``KafkaAccess`` through ``aiokafka_kwargs()``, so all of them authenticate the same way.

Environment (resolved once at each entry point):
``KAFKA_BOOTSTRAP_SERVERS``, ``KAFKA_SECURITY_PROTOCOL`` (``PLAINTEXT`` or
``SASL_PLAINTEXT``), ``KAFKA_SASL_MECHANISM`` (default ``SCRAM-SHA-512``), and the
principal: ``KAFKA_SASL_USERNAME``/``KAFKA_SASL_PASSWORD`` in general, a service's own
``GATEWAY_KAFKA_*`` or ``CONSUMER_KAFKA_*`` first, ``KAFKA_ADMIN_*`` for set-up tools.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SASL_PLAINTEXT"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256"]


class KafkaAccess(BaseModel):
    """Where the brokers are and who this client is; ``aiokafka_kwargs()`` for any client."""

    model_config = ConfigDict(frozen=True)

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    username: str | None = None
    password: SecretStr | None = None

    @model_validator(mode="after")
    def _principal_given(self) -> KafkaAccess:
        if self.security_protocol.startswith("SASL") and not (self.username and self.password):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs a SASL username and password"
            )
        return self

    @classmethod
    def admin_from(cls, env: Mapping[str, str]) -> KafkaAccess:
        """The set-up principal from ``KAFKA_*`` and ``KAFKA_ADMIN_USERNAME``/``_PASSWORD``."""
        password = env.get("KAFKA_ADMIN_PASSWORD")
        return cls.model_validate(
            {
                "bootstrap_servers": env.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
                "security_protocol": env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
                "sasl_mechanism": env.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
                "username": env.get("KAFKA_ADMIN_USERNAME"),
                "password": SecretStr(password) if password else None,
            }
        )

    def aiokafka_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for AIOKafkaProducer, AIOKafkaConsumer and AIOKafkaAdminClient."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol.startswith("SASL"):
            assert self.password is not None  # checked at validation
            kwargs |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password.get_secret_value(),
            }
        return kwargs


class KafkaClientSettings(BaseSettings):
    """The Kafka fields of a service's settings. A service re-declares ``kafka_username``
    and ``kafka_password`` to read its own variables first (``GATEWAY_KAFKA_USERNAME``)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    kafka_security_protocol: SecurityProtocol = Field("PLAINTEXT", validation_alias="KAFKA_SECURITY_PROTOCOL")
    kafka_sasl_mechanism: SaslMechanism = Field("SCRAM-SHA-512", validation_alias="KAFKA_SASL_MECHANISM")
    kafka_username: str | None = Field(None, validation_alias="KAFKA_SASL_USERNAME")
    kafka_password: SecretStr | None = Field(None, validation_alias="KAFKA_SASL_PASSWORD")

    @model_validator(mode="after")
    def _kafka_access_valid(self) -> KafkaClientSettings:
        self.kafka_access()  # a SASL protocol without a principal fails at start-up
        return self

    def kafka_access(self) -> KafkaAccess:
        """This service's ``KafkaAccess``."""
        return KafkaAccess(
            bootstrap_servers=self.kafka_bootstrap_servers,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            username=self.kafka_username,
            password=self.kafka_password,
        )


def service_credentials(service: str) -> tuple[Any, Any]:
    """``kafka_username`` and ``kafka_password`` fields reading ``<SERVICE>_KAFKA_USERNAME``
    (then ``KAFKA_SASL_USERNAME``) and ``<SERVICE>_KAFKA_PASSWORD`` (then ``KAFKA_SASL_PASSWORD``)."""
    prefix = service.upper()
    username = Field(None, validation_alias=AliasChoices(f"{prefix}_KAFKA_USERNAME", "KAFKA_SASL_USERNAME"))
    password = Field(None, validation_alias=AliasChoices(f"{prefix}_KAFKA_PASSWORD", "KAFKA_SASL_PASSWORD"))
    return username, password
