"""The receiver-clock rules, applied to readings pydantic has already validated.

Some rules depend on when a reading arrived or on settings, so no static schema can state
them (``schemas.timerules``): a ``timestamp`` may be at most ``max_future_skew`` ahead of
the receiver's clock, not before the floor, and (when set) not older than the max past
age or the retention horizon; every timestamp is normalised to UTC. They run here, in a
plain loop after pydantic's Rust validation, rather than as a field validator: a Python
field validator is called from Rust once per reading (about 1.5 us each, the gateway's
largest single cost in a profile), while this loop costs about 0.1 us a reading. The
loop compares each timestamp with two bounds computed once per clock (the latest, and
the tightest lower bound, which folds in the static floor); only a reading outside them
takes the slow path that says which rule it broke. pydantic-core gives every UTC
timestamp one shared ``tzinfo`` object, so for those the comparison never has to call
``utcoffset``; any other offset takes the general path and is converted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, TypeAdapter, ValidationError
from pydantic_core import InitErrorDetails

from schemas.errors import TimestampRuleError
from schemas.readings import ValidationClock, retention_horizon

M = TypeVar("M", bound=BaseModel)

_TIMESTAMP = TypeAdapter(AwareDatetime)
# The tzinfo pydantic-core attaches to a parsed "Z" / "+00:00" (one shared object).
_PARSED_UTC = _TIMESTAMP.validate_json('"2000-01-01T00:00:00Z"').tzinfo


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def future_message(clock: ValidationClock) -> str:
    """The reason given for a reading too far in the future (pydantic prefixes "Value error, ")."""
    skew = int(clock.max_future_skew.total_seconds())
    now = clock.now.isoformat() if clock.now is not None else "unknown"
    return f"timestamp is more than {skew} s in the future (receiver time {now}; rule MAX_FUTURE_SKEW_S)"


def violation(ts: datetime, clock: ValidationClock) -> TimestampRuleError | None:
    """The rule ``ts`` breaks, with its message; None when it keeps them all."""
    latest = clock.latest
    if latest is not None and ts > latest:
        return TimestampRuleError("future", future_message(clock))
    if ts < clock.floor:
        return TimestampRuleError(
            "floor",
            f"timestamp is before the floor {_iso(clock.floor)} (rule TIMESTAMP_FLOOR): "
            "is the device's clock set?",
        )
    now = clock.now
    if now is None:
        return None
    horizon = retention_horizon(now.astimezone(UTC).date(), clock.retention_days)
    if horizon is not None and ts.astimezone(UTC).date() < horizon:
        return TimestampRuleError(
            "retention",
            f"timestamp is before the retention horizon {horizon} (rule RETENTION_DAYS="
            f"{clock.retention_days}): history that old is not kept",
        )
    if clock.max_past_age is not None and ts < now - clock.max_past_age:
        age = int(clock.max_past_age.total_seconds())
        return TimestampRuleError(
            "max_past_age",
            f"timestamp is more than {age} s in the past (receiver time {now.isoformat()}; "
            "rule MAX_PAST_AGE_S): backfills this old are refused",
        )
    return None


def bounds(clock: ValidationClock) -> tuple[datetime, datetime | None]:
    """(earliest, latest) acceptable timestamps (``clock.earliest``, ``clock.latest``), in
    pydantic's shared UTC tzinfo."""
    latest = clock.latest
    return clock.earliest.astimezone(_PARSED_UTC), None if latest is None else latest.astimezone(_PARSED_UTC)


def apply_clock(readings: list[M], clock: ValidationClock) -> list[int]:
    """Normalise every timestamp to UTC in place; return the indexes of readings breaking a rule.

    :func:`violation` says which rule (only needed for the few it returns).
    """
    earliest, limit = bounds(clock)
    bad: list[int] = []
    for i, reading in enumerate(readings):
        ts: datetime = reading.timestamp  # type: ignore[attr-defined]
        if ts.tzinfo is not _PARSED_UTC:
            ts = ts.astimezone(UTC)
            readings[i] = reading.model_copy(update={"timestamp": ts})
        if ts < earliest or (limit is not None and ts > limit):
            bad.append(i)
    return bad


def in_bounds(ts: datetime, earliest: datetime, latest: datetime) -> bool:
    """Fast path: a UTC timestamp within bounds from :func:`bounds` (False: take :func:`checked`)."""
    return ts.tzinfo is _PARSED_UTC and earliest <= ts <= latest


def checked(reading: M, clock: ValidationClock, title: str) -> M:
    """One reading with the clock rules applied; a ``ValidationError`` naming the rule it breaks."""
    one = [reading]
    if apply_clock(one, clock):
        problem = violation(one[0].timestamp, clock)  # type: ignore[attr-defined]
        assert problem is not None
        tag = getattr(reading, "type", None)
        loc: tuple[str, ...] = (tag, "timestamp") if isinstance(tag, str) else ("timestamp",)
        raise clock_error(title, loc, reading.timestamp, problem)  # type: ignore[attr-defined]
    return one[0]


def clock_error(
    title: str, loc: tuple[str | int, ...], value: Any, problem: TimestampRuleError
) -> ValidationError:
    """The same ``ValidationError`` a field validator raising ``problem`` would give."""
    detail: InitErrorDetails = {"type": "value_error", "loc": loc, "input": value, "ctx": {"error": problem}}
    return ValidationError.from_exception_data(title, [detail])


def raw_timestamp_problem(raw: object, clock: ValidationClock) -> TimestampRuleError | None:
    """For a reading that passed validation but arrived in a rejected request: which rule
    does its timestamp break, if any?

    ``raw`` is the reading's parsed JSON object; its timestamp string is known valid.
    """
    if not isinstance(raw, dict):
        return None
    value = raw.get("timestamp")
    if not isinstance(value, str):
        return None
    return violation(_TIMESTAMP.validate_python(value), clock)


def rule_of(exc: ValidationError) -> str | None:
    """The time rule a ``ValidationError`` from :func:`checked` reports (None: another error)."""
    for e in exc.errors(include_url=False, include_input=False):
        problem = e.get("ctx", {}).get("error")
        if isinstance(problem, TimestampRuleError):
            return problem.rule
    return None
