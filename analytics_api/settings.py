"""Analytics API configuration, resolved once at start-up from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict

from common.auth_settings import AuthSettings
from common.serve import Listen


class AnalyticsSettings(AuthSettings):
    """Every knob of the analytics API. Environment names are given as aliases.

    Token keys: ``AUTH_KEYS``, ``AUTH_KEYS_FILE``, ``AUTH_SECRET`` (:class:`AuthSettings`).
    """

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    database_url: str = Field(
        validation_alias=AliasChoices("ANALYTICS_DATABASE_URL", "DATABASE_URL"),
        description="PostgreSQL URL of a member of energy_reader (read only)",
    )
    mapping_database_url: str | None = Field(
        None,
        validation_alias="MAPPING_DATABASE_URL",
        description="PostgreSQL URL of a member of energy_mapper; defaults to database_url",
    )
    primary_database_url: str | None = Field(
        None,
        validation_alias="ANALYTICS_PRIMARY_DATABASE_URL",
        description="with a standby in ANALYTICS_DATABASE_URL: a reader's URL on the primary, "
        "read while the standby is unavailable",
    )
    standby_check_interval_s: float = Field(
        2.0, gt=0, validation_alias="STANDBY_CHECK_INTERVAL_S", description="how often the standby is checked"
    )
    host: str = Field("127.0.0.1", validation_alias="ANALYTICS_HOST")
    port: int = Field(3001, ge=1, le=65535, validation_alias="ANALYTICS_PORT")
    max_request_body_bytes: int = Field(
        64 * 1024,
        ge=1024,
        validation_alias="ANALYTICS_MAX_BODY_BYTES",
        description="larger request bodies get 413 (bodies are read only after the token verified)",
    )
    statement_timeout_ms: int = Field(5000, ge=1, validation_alias="STATEMENT_TIMEOUT_MS")
    max_window_days: int = Field(366, ge=1, validation_alias="MAX_WINDOW_DAYS")
    low_efficiency_threshold: float = Field(0.85, gt=0, validation_alias="LOW_EFFICIENCY_THRESHOLD")
    fleet_cache_ttl_s: float = Field(
        10.0,
        ge=0,
        validation_alias="FLEET_CACHE_TTL_S",
        description="a fleet answer (ranking, energy) is reused this long for the same hour-rounded "
        "window (it may miss data stored meanwhile; 0: off)",
    )
    fleet_warm_for_s: float = Field(
        300.0,
        ge=0,
        validation_alias="FLEET_WARM_FOR_S",
        description="a fleet window asked for within this long is recomputed in the background "
        "every FLEET_CACHE_TTL_S / 2, so that requests for it do not wait (0: only on request)",
    )
    stale_after_s: int = Field(
        300,
        ge=1,
        validation_alias="STALE_AFTER_S",
        description="a device not heard from for this long is stale (and not 'reporting')",
    )
    offline_after_s: int = Field(
        900,
        ge=1,
        validation_alias="OFFLINE_AFTER_S",
        description="a device not heard from for this long is offline (fleet summary, metrics gauge)",
    )
    pool_min_size: int = Field(1, ge=0, validation_alias="ANALYTICS_POOL_MIN_SIZE")
    pool_max_size: int = Field(10, ge=1, validation_alias="ANALYTICS_POOL_MAX_SIZE")
    mapping_pool_max_size: int = Field(2, ge=1, validation_alias="MAPPING_POOL_MAX_SIZE")
    pool_timeout_s: float = Field(
        5.0, gt=0, validation_alias="ANALYTICS_POOL_TIMEOUT_S", description="wait for a free connection"
    )
    pool_max_waiting: int = Field(
        200,
        ge=0,
        validation_alias="ANALYTICS_POOL_MAX_WAITING",
        description="requests queued for a connection before answering 503 (0: unbounded)",
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
        None, validation_alias="ANALYTICS_TLS_CERT_FILE", description="PEM certificate (chain): serve HTTPS"
    )
    tls_key_file: str | None = Field(
        None, validation_alias="ANALYTICS_TLS_KEY_FILE", description="its PEM key"
    )

    @property
    def listen(self) -> Listen:
        """Address, TLS and header deadline for :func:`common.serve.serve`."""
        return Listen(
            self.host, self.port, self.request_read_timeout_s, self.tls_cert_file, self.tls_key_file
        )

    @model_validator(mode="after")
    def _checked(self) -> AnalyticsSettings:
        if self.pool_min_size > self.pool_max_size:
            raise ValueError("ANALYTICS_POOL_MIN_SIZE must not exceed ANALYTICS_POOL_MAX_SIZE")
        return self

    @property
    def mapper_url(self) -> str:
        """The URL mapping writes use (the reader's when no mapper URL is configured)."""
        return self.mapping_database_url or self.database_url
