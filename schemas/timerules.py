"""The time rules of a reading's timestamp: one settings object for every service.

The gateway and the consumer inherit these fields (and their environment names) into
their own settings, so both read the same variables through the same code, and both
judge a timestamp with :meth:`TimeRules.clock` (``schemas.clock`` applies the result):

- ``MAX_FUTURE_SKEW_S`` (300): at most this far ahead of the receive time;
- ``TIMESTAMP_FLOOR`` (2000-01-01T00:00:00Z): never before it (a dead clock battery says 1970);
- ``MAX_PAST_AGE_S`` (0 = off): at most this old at the receive time (refuses backfills);
- ``RETENTION_DAYS`` (0 = keep forever): never before the first UTC day retention keeps.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from pydantic import AwareDatetime, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.readings import DEFAULT_TIMESTAMP_FLOOR, ValidationClock, retention_horizon


class TimeRules(BaseSettings):
    """The time-rule settings (frozen). Services' settings subclass it; ``defaults()`` reads no env."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    max_future_skew_s: float = Field(
        300.0, ge=0, validation_alias="MAX_FUTURE_SKEW_S", description="how far ahead of the receive time"
    )
    timestamp_floor: AwareDatetime = Field(
        DEFAULT_TIMESTAMP_FLOOR,
        validation_alias="TIMESTAMP_FLOOR",
        description="no reading before this instant (RFC 3339 with an offset)",
    )
    max_past_age_s: float = Field(
        0.0,
        ge=0,
        validation_alias="MAX_PAST_AGE_S",
        description="refuse readings older than this at their receive time; 0 = off",
    )
    retention_days: int = Field(
        0,
        ge=0,
        validation_alias="RETENTION_DAYS",
        description="0 keeps history forever; else readings before the horizon are refused",
    )

    @field_validator("timestamp_floor")
    @classmethod
    def _floor_in_the_past(cls, value: datetime) -> datetime:
        # A floor in the future would refuse every reading: a typo, not a policy.
        if value > datetime.now(UTC):
            raise ValueError("TIMESTAMP_FLOOR must be in the past")
        return value.astimezone(UTC)

    @staticmethod
    def defaults(**overrides: float | int | datetime) -> TimeRules:
        """The rules with their defaults (and ``overrides``), without reading the environment."""
        values = {name: field.default for name, field in TimeRules.model_fields.items()}
        return TimeRules.model_validate(values | overrides)

    @property
    def max_past_age(self) -> timedelta | None:
        return timedelta(seconds=self.max_past_age_s) if self.max_past_age_s else None

    def horizon(self, today: date) -> date | None:
        """The first UTC day retention keeps on ``today`` (None: kept forever)."""
        return retention_horizon(today, self.retention_days)

    def clock(self, now: datetime | None) -> ValidationClock:
        """The clock a reading received at ``now`` is judged by."""
        return ValidationClock(
            now=None if now is None else now.astimezone(UTC),
            max_future_skew=timedelta(seconds=self.max_future_skew_s),
            floor=self.timestamp_floor,
            max_past_age=self.max_past_age,
            retention_days=self.retention_days,
        )
