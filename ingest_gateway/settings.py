"""Gateway configuration, resolved once at start-up from the environment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from common.auth_settings import AuthSettings
from common.kafka import KafkaClientSettings, service_credentials
from common.serve import Listen
from ingest_gateway.ocpp.settings import OcppSettings
from schemas.timerules import TimeRules

_KAFKA_USERNAME, _KAFKA_PASSWORD = service_credentials("gateway")


class GatewaySettings(KafkaClientSettings, AuthSettings, TimeRules, OcppSettings):
    """Every knob of the gateway. Environment names are given as aliases.

    Token keys: ``AUTH_KEYS``, ``AUTH_KEYS_FILE``, ``AUTH_SECRET`` (:class:`AuthSettings`).

    Time rules: ``MAX_FUTURE_SKEW_S``, ``TIMESTAMP_FLOOR``, ``MAX_PAST_AGE_S``, ``RETENTION_DAYS``
    (:class:`TimeRules`, the same fields the consumer reads).

    OCPP limits: ``OCPP_MAX_CONNECTIONS``, ``OCPP_MAX_FRAME_BYTES``, ``OCPP_MESSAGES_PER_S`` ...
    (:class:`~ingest_gateway.ocpp.settings.OcppSettings`).

    Kafka: ``KAFKA_BOOTSTRAP_SERVERS``, ``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_MECHANISM``
    and the gateway's own principal ``GATEWAY_KAFKA_USERNAME``/``GATEWAY_KAFKA_PASSWORD``.
    """

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    kafka_username: str | None = _KAFKA_USERNAME
    kafka_password: SecretStr | None = _KAFKA_PASSWORD
    host: str = Field("127.0.0.1", validation_alias="GATEWAY_HOST")
    port: int = Field(3000, ge=1, le=65535, validation_alias="GATEWAY_PORT")
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, validation_alias="MAX_BODY_BYTES")
    max_records: int = Field(10_000, ge=1, validation_alias="MAX_RECORDS")
    produce_deadline_s: float = Field(
        5.0,
        gt=0,
        validation_alias="PRODUCE_DEADLINE_S",
        description="answer 503 if Kafka has not acknowledged every record by then",
    )
    retry_after_s: int = Field(5, ge=1, validation_alias="RETRY_AFTER_S")
    rate_per_device: float = Field(
        10.0, gt=0, validation_alias="RATE_PER_DEVICE", description="readings/s refill per device"
    )
    burst_per_device: int = Field(
        2000, ge=1, validation_alias="BURST_PER_DEVICE", description="bucket size per device"
    )
    linger_ms: int = Field(
        5, ge=0, validation_alias="KAFKA_LINGER_MS", description="producer batching delay (measured)"
    )
    max_batch_bytes: int = Field(
        512 * 1024, ge=16384, validation_alias="KAFKA_MAX_BATCH_BYTES", description="per-partition batch"
    )
    compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = Field(
        "none",
        validation_alias="KAFKA_COMPRESSION",
        description="snappy, lz4 and zstd need the cramjam package installed",
    )
    max_in_flight_records: int = Field(
        50_000,
        ge=1,
        validation_alias="MAX_IN_FLIGHT_RECORDS",
        description="records awaiting Kafka's acknowledgement across all requests",
    )
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    request_read_timeout_s: float = Field(
        10.0,
        gt=0,
        validation_alias="REQUEST_READ_TIMEOUT_S",
        description="a request's headers, and then its body, must arrive within this (else 408 / close)",
    )
    max_concurrent_requests: int = Field(
        1000, ge=1, validation_alias="MAX_CONCURRENT_REQUESTS", description="beyond: 503 with Retry-After"
    )
    tls_cert_file: str | None = Field(
        None, validation_alias="GATEWAY_TLS_CERT_FILE", description="PEM certificate (chain): serve HTTPS"
    )
    tls_key_file: str | None = Field(None, validation_alias="GATEWAY_TLS_KEY_FILE", description="its PEM key")

    @property
    def listen(self) -> Listen:
        """Address, TLS and header deadline for :func:`common.serve.serve`."""
        return Listen(
            self.host, self.port, self.request_read_timeout_s, self.tls_cert_file, self.tls_key_file
        )

    @model_validator(mode="after")
    def _codec_installed(self) -> GatewaySettings:
        from aiokafka import codec

        available = {"none": True, "gzip": True, "snappy": codec.has_snappy(), "lz4": codec.has_lz4()}
        if not available.get(self.compression, codec.has_zstd()):
            raise ValueError(f"KAFKA_COMPRESSION={self.compression} needs the cramjam package installed")
        return self
