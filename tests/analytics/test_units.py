"""Pure logic: timestamps, windows, derived figures and settings (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from analytics_api.energy import coverage, efficiency, is_low
from analytics_api.errors import InvalidParameter
from analytics_api.settings import AnalyticsSettings
from analytics_api.window import Window, ceil_to, floor_to, parse_rfc3339, resolve_window

T = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-10T12:00:00Z", T),
        ("2024-03-10t12:00:00z", T),
        ("2024-03-10 12:00:00Z", T),
        ("2024-03-10T14:00:00+02:00", T),
        ("2024-03-10T14:00:00 02:00", T),  # '+' decoded as a space in a query string
        ("2024-03-10T07:30:00-04:30", T),
        ("2024-03-10T12:00:00.123456789Z", T + timedelta(microseconds=123456)),
        ("2024-03-10T12:00:00.5Z", T + timedelta(milliseconds=500)),
    ],
)
def test_rfc3339_accepted(text: str, expected: datetime) -> None:
    assert parse_rfc3339(text) == expected
    assert parse_rfc3339(text).tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2024-03-10T12:00:00", "no UTC offset"),
        ("2024-03-10", "not an RFC 3339"),
        ("1710072000", "not an RFC 3339"),
        ("2024-03-10T12:00Z", "not an RFC 3339"),
        ("2024-13-10T12:00:00Z", "not a valid time"),
        ("2024-03-10T12:00:00+25:00", "not a valid time"),
        ("0001-01-01T00:00:00+01:00", "not a valid time"),
    ],
)
def test_rfc3339_rejected(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_rfc3339(text)


def test_rounding_to_buckets() -> None:
    t = datetime(2024, 3, 10, 12, 34, 56, 789, tzinfo=UTC)
    hour = timedelta(hours=1)
    assert floor_to(t, hour) == datetime(2024, 3, 10, 12, tzinfo=UTC)
    assert ceil_to(t, hour) == datetime(2024, 3, 10, 13, tzinfo=UTC)
    assert ceil_to(T, hour) == T
    assert floor_to(t, timedelta(days=1)) == datetime(2024, 3, 10, tzinfo=UTC)
    assert Window(t, t + hour).rounded(hour) == Window(floor_to(t, hour), ceil_to(t + hour, hour))


def test_window_defaults_and_limits() -> None:
    day, cap = timedelta(hours=24), timedelta(days=366)
    assert resolve_window(None, None, now=T, default_length=day, max_length=cap) == Window(T - day, T)
    w = resolve_window("2024-03-01T00:00:00Z", None, now=T, default_length=day, max_length=cap)
    assert w == Window(datetime(2024, 3, 1, tzinfo=UTC), T)
    with pytest.raises(InvalidParameter, match=r"from: the window .* is longer than 366 days"):
        resolve_window("2023-03-01T00:00:00Z", None, now=T, default_length=day, max_length=cap)
    with pytest.raises(InvalidParameter, match="to: must be after from"):
        resolve_window("2024-03-11T00:00:00Z", None, now=T, default_length=day, max_length=cap)


def test_derived_figures() -> None:
    assert efficiency(Decimal("8.5"), Decimal("10")) == 0.85
    assert efficiency(Decimal("1"), Decimal("0")) is None
    assert is_low(0.849, 0.85) is True
    assert is_low(0.85, 0.85) is False
    assert is_low(None, 0.85) is None
    assert coverage(30, 3600) == 0.5
    assert coverage(0, 0) is None


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANALYTICS_DATABASE_URL", "MAPPING_DATABASE_URL", "AUTH_SECRET", "AUTH_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://any@db/energy")
    with pytest.raises(ValidationError, match="AUTH_SECRET is required"):
        AnalyticsSettings()
    monkeypatch.setenv("AUTH_SECRET", "short")
    with pytest.raises(ValidationError, match="at least 32 characters"):
        AnalyticsSettings()
    monkeypatch.delenv("AUTH_SECRET")
    monkeypatch.setenv("AUTH_DISABLED", "true")
    s = AnalyticsSettings()
    assert s.database_url == s.mapper_url == "postgresql://any@db/energy"
    assert (s.host, s.port, s.statement_timeout_ms, s.max_window_days) == ("127.0.0.1", 3001, 5000, 366)
    assert (s.low_efficiency_threshold, s.stale_after_s) == (0.85, 300)
    monkeypatch.setenv("ANALYTICS_DATABASE_URL", "postgresql://reader@db/energy")
    monkeypatch.setenv("MAPPING_DATABASE_URL", "postgresql://mapper@db/energy")
    s = AnalyticsSettings()
    assert s.database_url == "postgresql://reader@db/energy"
    assert s.mapper_url == "postgresql://mapper@db/energy"
