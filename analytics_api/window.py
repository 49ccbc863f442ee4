"""Time windows from query parameters: strict RFC 3339, half-open, capped."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from analytics_api.errors import InvalidParameter

Clock = Callable[[], datetime]
"""Returns the current time (timezone-aware); injected so tests control it."""

_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9}))?"
    r"(?P<offset>[Zz]|[+\- ]\d{2}:\d{2})?"
)
_EXAMPLE = "e.g. 2024-03-10T12:00:00Z or 2024-03-10T14:00:00+02:00"
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""Instants outside ``[EARLIEST, LATEST)`` are refused: near years 1 and 9999 the window
arithmetic (default lengths, rounding to buckets) would leave Python's datetime range."""


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """The half-open interval ``[start, end)``, both in UTC."""

    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        """The window's length in seconds."""
        return (self.end - self.start).total_seconds()

    def rounded(self, step: timedelta) -> Window:
        """The smallest window of whole ``step`` buckets (counted from the epoch) covering this one."""
        return Window(floor_to(self.start, step), ceil_to(self.end, step))


def floor_to(t: datetime, step: timedelta) -> datetime:
    """``t`` rounded down to a multiple of ``step`` since the Unix epoch (UTC)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((t - epoch) // step) * step


def ceil_to(t: datetime, step: timedelta) -> datetime:
    """``t`` rounded up to a multiple of ``step`` since the Unix epoch (UTC)."""
    down = floor_to(t, step)
    return down if down == t else down + step


def parse_rfc3339(raw: str) -> datetime:
    """An RFC 3339 timestamp with an offset, in UTC; raises ``ValueError`` with a readable reason."""
    m = _RFC3339.fullmatch(raw.strip())
    if m is None:
        raise ValueError(f"{raw!r} is not an RFC 3339 timestamp ({_EXAMPLE})")
    offset = m["offset"]
    if offset is None:
        raise ValueError(f"{raw!r} has no UTC offset; add 'Z' or '+hh:mm' ({_EXAMPLE})")
    if offset.startswith(" "):  # an unescaped '+' in a query string arrives as a space
        offset = "+" + offset[1:]
    frac = (m["frac"] or "0")[:6].ljust(6, "0")
    text = f"{m['date']}T{m['time']}.{frac}{'+00:00' if offset.upper() == 'Z' else offset}"
    try:
        instant = datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{raw!r} is not a valid time: {exc}") from None
    if not EARLIEST <= instant < LATEST:
        raise ValueError(
            f"{raw!r} is out of range: times from {EARLIEST.isoformat()} to before {LATEST.isoformat()}"
        )
    return instant


def parse_instant(parameter: str, raw: str) -> datetime:
    """:func:`parse_rfc3339` for a request parameter; raises :class:`InvalidParameter`."""
    try:
        return parse_rfc3339(raw)
    except ValueError as exc:
        raise InvalidParameter(parameter, str(exc)) from None


def resolve_window(
    raw_from: str | None,
    raw_to: str | None,
    *,
    now: datetime,
    default_length: timedelta,
    max_length: timedelta,
) -> Window:
    """``[from, to)`` from optional parameters: ``to`` defaults to now, ``from`` to ``to`` minus the
    default length. Rejects ``to <= from`` and windows longer than ``max_length``."""
    end = parse_instant("to", raw_to) if raw_to is not None else now.astimezone(UTC)
    start = parse_instant("from", raw_from) if raw_from is not None else end - default_length
    if end <= start:
        raise InvalidParameter("to", f"must be after from ({start.isoformat()}); got {end.isoformat()}")
    if end - start > max_length:
        days = max_length / timedelta(days=1)
        raise InvalidParameter(
            "from", f"the window from {start.isoformat()} to {end.isoformat()} is longer than {days:g} days"
        )
    return Window(start, end)
