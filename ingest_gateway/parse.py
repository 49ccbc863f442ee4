"""Turn a request body into validated readings, or a precise error.

Validation runs straight on the raw bytes (pydantic ``validate_json``): no intermediate
Python objects; the time rules (``schemas.timerules``: future skew, floor, max past age,
retention horizon; UTC) follow in ``schemas.clock``.
A request is all-or-nothing, so every problem of every reading is reported (index and
field), not just the first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError
from pydantic_core import from_json

from ingest_gateway.errors import InvalidReadings, MalformedBody, TooLarge, UnsupportedMediaType
from schemas import READING_ADAPTER, MeterReading, Reading, TimeRules, ValidationClock, VehicleReading
from schemas.clock import apply_clock, raw_timestamp_problem, violation
from schemas.errors import TimestampRuleError

JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
SUPPORTED_TYPES = (*JSON_TYPES, *NDJSON_TYPES)

Readings = list[MeterReading | VehicleReading]


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` → ``application/json``; 415 if unsupported."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    if base in SUPPORTED_TYPES:
        return base
    raise UnsupportedMediaType(
        f"Content-Type must be application/json or application/x-ndjson, not {base or 'missing'}",
        supported=list(SUPPORTED_TYPES),
    )


class ReadingsParser:
    """Parses and validates bodies under a record limit and the time rules.

    ``rules`` (the gateway's settings) or, for a bare parser, ``max_future_skew`` with the
    other rules at their defaults.
    """

    def __init__(
        self, max_records: int, max_future_skew: timedelta | None = None, *, rules: TimeRules | None = None
    ) -> None:
        self.max_records = max_records
        if rules is None:
            skew = {} if max_future_skew is None else {"max_future_skew_s": max_future_skew.total_seconds()}
            rules = TimeRules.defaults(**skew)
        self.rules = rules
        # The length constraint stops a too-long array with one ``too_long`` error.
        self._array: TypeAdapter[Readings] = TypeAdapter(
            Annotated[list[Reading], Field(max_length=max_records)]
        )

    def parse(self, body: bytes, kind: str, now: datetime) -> Readings:
        """All readings of the body, validated; raises the 400, 413 or 422 error."""
        clock = self.rules.clock(now.astimezone(UTC))
        if kind in NDJSON_TYPES:
            return self._ndjson(body, clock)
        head = body.lstrip()[:1]
        if head not in (b"{", b"["):
            raise MalformedBody("body must be a JSON object (one reading) or an array of readings")
        single = head == b"{"
        try:
            readings = [READING_ADAPTER.validate_json(body)] if single else self._array.validate_json(body)
        except ValidationError as exc:
            _raise_json_error(exc, "")
            if exc.errors()[0]["type"] == "too_long":
                raise self._too_many(exc.errors()[0].get("ctx", {}).get("actual_length")) from None
            errors = _field_errors(exc, 0 if single else None)
            raise _invalid(errors + _late_among_the_rest(body, single, errors, clock)) from None
        if not readings:
            raise InvalidReadings("the array is empty: send at least one reading", errors=[])
        late = apply_clock(readings, clock)
        if late:
            raise _invalid([_late_error(i, _problem(readings[i], clock)) for i in late])
        return readings

    def _ndjson(self, body: bytes, clock: ValidationClock) -> Readings:
        lines = [line for line in body.split(b"\n") if line.strip()]
        if len(lines) > self.max_records:
            raise self._too_many(len(lines))
        if not lines:
            raise InvalidReadings("the NDJSON body has no readings: send at least one line", errors=[])
        readings: Readings = []
        line_of: list[int] = []  # the line of each valid reading
        errors: list[dict[str, Any]] = []
        for i, line in enumerate(lines):
            try:
                readings.append(READING_ADAPTER.validate_json(line))
                line_of.append(i)
            except ValidationError as exc:
                _raise_json_error(exc, f" on line {i} (counting non-empty lines from 0)")
                line_errors = _field_errors(exc, i)
                errors.extend(line_errors + _late_among_the_rest(line, True, line_errors, clock, first=i))
        errors.extend(
            _late_error(line_of[j], _problem(readings[j], clock)) for j in apply_clock(readings, clock)
        )
        if errors:
            raise _invalid(errors)
        return readings

    def _too_many(self, n: int | None) -> TooLarge:
        count = f"{n} readings" if n is not None else "too many readings"
        return TooLarge(
            f"{count} in one request; the limit is {self.max_records}", limit=self.max_records, unit="records"
        )


def _raise_json_error(exc: ValidationError, where: str) -> None:
    for e in exc.errors(include_url=False):
        if e["type"] in ("json_invalid", "json_type"):
            raise MalformedBody(f"malformed JSON{where}: {e['msg']}") from None


def _field_errors(exc: ValidationError, index: int | None) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors(include_url=False, include_input=False):
        loc = list(e["loc"])
        i = index
        if index is None and loc and isinstance(loc[0], int):
            i = int(loc.pop(0))
        if loc and loc[0] in ("meter", "vehicle"):
            loc.pop(0)
        field = ".".join(str(p) for p in loc) or ("type" if e["type"].startswith("union_tag") else "$")
        msg = e["msg"]
        if e["type"] == "union_tag_not_found":
            msg = "field required: type must be 'meter' or 'vehicle'"
        elif e["type"] == "union_tag_invalid":
            msg = f"type must be 'meter' or 'vehicle', not {e.get('ctx', {}).get('tag')!r}"
        out.append({"index": i if i is not None else 0, "field": field, "message": msg, "type": e["type"]})
    return out


def _problem(reading: MeterReading | VehicleReading, clock: ValidationClock) -> TimestampRuleError:
    problem = violation(reading.timestamp, clock)
    assert problem is not None, "apply_clock and violation judge alike"
    return problem


def _late_error(index: int, problem: TimestampRuleError) -> dict[str, Any]:
    """A broken time rule as a field error; the message names the rule and its setting."""
    return {"index": index, "field": "timestamp", "message": f"Value error, {problem}", "type": "value_error"}


def _late_among_the_rest(
    body: bytes, single: bool, errors: list[dict[str, Any]], clock: ValidationClock, first: int = 0
) -> list[dict[str, Any]]:
    """A rejected request reports every problem: the time rules broken by readings whose
    timestamp (and type) passed validation too. Only runs when the request already failed."""
    parsed = from_json(body)
    items = [parsed] if single else parsed
    judged_already = {e["index"] for e in errors if e["field"] in ("timestamp", "type")}
    found = []
    for i, item in enumerate(items if isinstance(items, list) else [], start=first):
        problem = None if i in judged_already else raw_timestamp_problem(item, clock)
        if problem is not None:
            found.append(_late_error(i, problem))
    return found


def _invalid(errors: list[dict[str, Any]]) -> InvalidReadings:
    errors = sorted(errors, key=lambda e: int(e["index"]))
    bad = len({e["index"] for e in errors})
    return InvalidReadings(f"{bad} reading(s) invalid; nothing was published", errors=errors)
