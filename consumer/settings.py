"""Consumer configuration, resolved once at start-up from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from common.kafka import KafkaClientSettings, service_credentials
from schemas.timerules import TimeRules

_KAFKA_USERNAME, _KAFKA_PASSWORD = service_credentials("consumer")


class ConsumerSettings(KafkaClientSettings, TimeRules):
    """Every knob of a consumer worker. Environment names are given as aliases.

    Kafka: ``KAFKA_BOOTSTRAP_SERVERS``, ``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_MECHANISM``
    and the consumer's own principal ``CONSUMER_KAFKA_USERNAME``/``CONSUMER_KAFKA_PASSWORD``.

    Time rules: ``MAX_FUTURE_SKEW_S``, ``TIMESTAMP_FLOOR``, ``MAX_PAST_AGE_S``, ``RETENTION_DAYS``
    (:class:`TimeRules`, the same fields the gateway reads; 0 retention keeps history forever).
    """

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    database_url: str = Field(
        validation_alias=AliasChoices("CONSUMER_DATABASE_URL", "DATABASE_URL"),
        description="PostgreSQL URL of a member of energy_writer",
    )
    kafka_username: str | None = _KAFKA_USERNAME
    kafka_password: SecretStr | None = _KAFKA_PASSWORD
    group_id: str = Field("energy-ingest", validation_alias="CONSUMER_GROUP")
    instance_id: str | None = Field(
        None,
        validation_alias="CONSUMER_INSTANCE_ID",
        description="static membership id (group.instance.id); unique per replica",
    )
    batch_max_records: int = Field(
        20_000,
        ge=1,
        validation_alias="BATCH_MAX_RECORDS",
        description="most messages per batch transaction; a consumer that is behind writes full "
        "batches, which amortise the status and rollup upserts over more readings",
    )
    batch_max_wait_ms: int = Field(
        100,
        ge=0,
        validation_alias="BATCH_MAX_WAIT_MS",
        description="with no write in flight, a batch that keeps receiving records closes this "
        'long after its first message (docs/performance.md, "Issue 15, fourth round")',
    )
    batch_quiet_ms: int = Field(
        10,
        ge=1,
        validation_alias="BATCH_QUIET_MS",
        description="with no write in flight, a batch closes once Kafka has had nothing more for "
        "this long: a request's records have arrived, waiting on only adds latency",
    )
    session_timeout_ms: int = Field(10_000, ge=1000, validation_alias="KAFKA_SESSION_TIMEOUT_MS")
    heartbeat_interval_ms: int = Field(3_000, ge=100, validation_alias="KAFKA_HEARTBEAT_INTERVAL_MS")
    max_poll_interval_ms: int = Field(300_000, ge=1000, validation_alias="KAFKA_MAX_POLL_INTERVAL_MS")
    reject_max_ratio: float = Field(
        0.5,
        gt=0,
        le=1,
        validation_alias="REJECT_MAX_RATIO",
        description="halt if rejects exceed this share of the last reject_window messages",
    )
    reject_window: int = Field(1000, ge=10, validation_alias="REJECT_WINDOW")
    reject_min_messages: int = Field(
        100,
        ge=1,
        validation_alias="REJECT_MIN_MESSAGES",
        description="the share is only judged once this many messages were seen",
    )
    partition_day_months: int = Field(
        3,
        ge=1,
        le=24,
        validation_alias="PARTITION_DAY_MONTHS",
        description="history gets day partitions for this many months up to the current one (and "
        "in any month that already has some); an older month gets one month partition",
    )
    retry_initial_s: float = Field(0.2, gt=0, validation_alias="RETRY_INITIAL_S")
    retry_max_s: float = Field(10.0, gt=0, validation_alias="RETRY_MAX_S")
    db_statement_timeout_ms: int = Field(
        30_000,
        ge=100,
        validation_alias="CONSUMER_DB_STATEMENT_TIMEOUT_MS",
        description="PostgreSQL statement_timeout of the writer's session",
    )
    db_idle_in_transaction_timeout_ms: int = Field(
        10_000,
        ge=100,
        validation_alias="CONSUMER_DB_IDLE_TX_TIMEOUT_MS",
        description=(
            "PostgreSQL ends a writer session idle inside a transaction this long: a frozen "
            "worker must not hold the locks its successor needs (a batch never idles itself)"
        ),
    )
    metrics_port: int = Field(
        0,
        ge=0,
        le=65535,
        validation_alias="CONSUMER_METRICS_PORT",
        description="Prometheus port of this worker; 0 disables",
    )
    metrics_host: str = Field("127.0.0.1", validation_alias="CONSUMER_METRICS_HOST")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")

    @property
    def write_timeout_s(self) -> float:
        """Longest wait for one batch transaction: well inside the poll interval."""
        return min(120.0, self.max_poll_interval_ms / 2000)

    @property
    def rebalance_timeout_ms(self) -> int:
        """How long the group waits for this member to rejoin: enough for an in-flight write,
        since a revocation first lets the batch being written commit or fail."""
        return max(self.session_timeout_ms, int(self.write_timeout_s * 1000) + 5000)

    @property
    def heartbeat_ms(self) -> int:
        """The heartbeat interval, at most a third of the session timeout (Kafka's advice)."""
        return min(self.heartbeat_interval_ms, self.session_timeout_ms // 3)
