"""The receiver-clock rules, applied to readings pydantic has already validated.

Two rules depend on when a reading arrived, so no static schema can state them: a
``timestamp`` may be at most ``max_future_skew`` ahead of the receiver's clock, and
every timestamp is normalised to UTC. They run here, in a plain loop after pydantic's
Rust validation, rather than as a field validator: a Python field validator is called
from Rust once per reading (about 1.5 us each, the gateway's largest single cost in a
profile), while this loop costs about 0.1 us a reading. pydantic-core gives every UTC
timestamp one shared ``tzinfo`` object, so for those the comparison never has to call
``utcoffset``; any other offset takes the general path and is converted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, TypeAdapter, ValidationError
from pydantic_core import InitErrorDetails

from schemas.readings import DEFAULT_MAX_FUTURE_SKEW, ValidationClock

M = TypeVar("M", bound=BaseModel)

_TIMESTAMP = TypeAdapter(AwareDatetime)
# The tzinfo pydantic-core attaches to a parsed "Z" / "+00:00" (one shared object).
_PARSED_UTC = _TIMESTAMP.validate_json('"2000-01-01T00:00:00Z"').tzinfo


def future_message(clock: ValidationClock) -> str:
    """The reason given for a reading too far in the future (pydantic prefixes "Value error, ")."""
    skew = int(clock.max_future_skew.total_seconds())
    now = clock.now.isoformat() if clock.now is not None else "unknown"
    return f"timestamp is more than {skew} s in the future (receiver time {now})"


def apply_clock(readings: list[M], clock: ValidationClock) -> list[int]:
    """Normalise every timestamp to UTC in place; return the indexes of future readings."""
    latest = clock.latest
    limit = None if latest is None else latest.astimezone(_PARSED_UTC)
    late: list[int] = []
    for i, reading in enumerate(readings):
        ts: datetime = reading.timestamp  # type: ignore[attr-defined]
        if ts.tzinfo is not _PARSED_UTC:
            ts = ts.astimezone(UTC)
            readings[i] = reading.model_copy(update={"timestamp": ts})
        if limit is not None and ts > limit:
            late.append(i)
    return late


@lru_cache(maxsize=1024)
def _limit_at(now_ms: int) -> datetime:
    """The latest acceptable timestamp for a reading received at ``now_ms`` (default skew)."""
    return (datetime.fromtimestamp(now_ms / 1000, tz=UTC) + DEFAULT_MAX_FUTURE_SKEW).astimezone(_PARSED_UTC)


def plainly_in_time(ts: datetime, now_ms: int | None) -> bool:
    """Fast path: a UTC timestamp within the default skew of ``now_ms``.

    True means no clock rule has anything to do; False means "take :func:`checked`".
    Records of one gateway request share their receive time, so the limit is cached.
    """
    return bool(now_ms) and ts.tzinfo is _PARSED_UTC and ts <= _limit_at(now_ms)


def checked(reading: M, clock: ValidationClock, title: str) -> M:
    """One reading with the clock rules applied; a ``ValidationError`` if it is too far ahead."""
    one = [reading]
    if apply_clock(one, clock):
        tag = getattr(reading, "type", None)
        loc: tuple[str, ...] = (tag, "timestamp") if isinstance(tag, str) else ("timestamp",)
        raise future_error(title, loc, reading.timestamp, clock)  # type: ignore[attr-defined]
    return one[0]


def future_error(
    title: str, loc: tuple[str | int, ...], value: Any, clock: ValidationClock
) -> ValidationError:
    """The same ``ValidationError`` a field validator raising ``ValueError`` would give."""
    detail: InitErrorDetails = {
        "type": "value_error",
        "loc": loc,
        "input": value,
        "ctx": {"error": ValueError(future_message(clock))},
    }
    return ValidationError.from_exception_data(title, [detail])


def raw_timestamp_is_future(raw: object, clock: ValidationClock) -> bool:
    """For a reading that passed validation but arrived in a rejected request: is it too far ahead?

    ``raw`` is the reading's parsed JSON object; its timestamp string is known valid.
    """
    latest = clock.latest
    if latest is None or not isinstance(raw, dict):
        return False
    value = raw.get("timestamp")
    if not isinstance(value, str):
        return False
    return bool(_TIMESTAMP.validate_python(value) > latest)
