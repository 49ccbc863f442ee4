"""Turn a request body into validated readings, or a precise error.

Validation runs straight on the raw bytes (pydantic ``validate_json``): no intermediate
Python objects; the time rules (``schemas.timerules``: future skew, floor, max past age,
retention horizon; UTC) follow in ``schemas.clock``.
A request is all-or-nothing, so every problem of every reading is counted (index and
field), and the first :data:`MAX_LISTED_ERRORS` are listed with the total.

Bounded work: byte counts refuse bodies with more objects or values than the record
limit allows before anything is parsed; a body that passes takes one fail-fast
validation; only a rejected body is judged reading by reading, in slices between which
:meth:`ReadingsParser.parse_async` yields to the event loop, so a large invalid body
does not stall other requests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails, from_json

from ingest_gateway.errors import InvalidReadings, MalformedBody, TooLarge, UnsupportedMediaType
from schemas import READING_ADAPTER, MeterReading, Reading, TimeRules, ValidationClock, VehicleReading
from schemas.clock import apply_clock, raw_timestamp_problem, violation
from schemas.errors import TimestampRuleError

JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
SUPPORTED_TYPES = (*JSON_TYPES, *NDJSON_TYPES)

Readings = list[MeterReading | VehicleReading]
Steps = Generator[None, None, Readings]

MAX_LISTED_ERRORS = 100
"""A 422 lists at most this many errors (the first by index) and counts them all."""
MAX_FIELD_CHARS = 64
MAX_MESSAGE_CHARS = 200
"""Echoed text (a field name, a message quoting an input) is cut to these lengths."""
FIELDS_PER_READING = 6
"""The most fields a reading has (a vehicle's); a valid body has fewer commas than six per reading."""
MAX_JUDGED_FIELDS = 16
"""An object with more keys is refused as a whole rather than judged key by key."""
SLICE = 64
"""Readings judged between two yields to the event loop (about 1 ms)."""
PAUSE_S = 0.001
"""The pause at each yield: a timer, not ``sleep(0)``, so that the other requests' I/O and
steps all run before the next slice (measured with ``python -m bench.edges``)."""
MAX_STRING_CHARS = 256
"""Longer than any string of a valid reading; a rejected reading's longer strings are cut."""
LONG_LINE_BYTES = 4096
"""An NDJSON line longer than this is parsed and shortened before it is judged."""
FAST_CHECK_BYTES = 16 * 1024
"""Bodies above this size have their objects' sizes checked before the fast validation."""
UNPARSED = object()
"""Marks an NDJSON line judged as bytes (not parsed first)."""


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
        # Fail fast: the first bad reading stops validation; a rejected body is then judged
        # reading by reading (``_judge``) to report its errors.
        self._array: TypeAdapter[Readings] = TypeAdapter(
            Annotated[list[Reading], Field(max_length=max_records, fail_fast=True)]
        )

    def parse(self, body: bytes, kind: str, now: datetime) -> Readings:
        """All readings of the body, validated; raises the 400, 413 or 422 error."""
        steps = self._steps(body, kind, now)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                readings: Readings = done.value
                return readings

    async def parse_async(self, body: bytes, kind: str, now: datetime) -> Readings:
        """:meth:`parse`, pausing :data:`PAUSE_S` between slices of a large or rejected body:
        every request waiting for the event loop runs first."""
        steps = self._steps(body, kind, now)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                readings: Readings = done.value
                return readings
            await asyncio.sleep(PAUSE_S)

    def _steps(self, body: bytes, kind: str, now: datetime) -> Steps:
        clock = self.rules.clock(now.astimezone(UTC))
        self._count_bytes(body)
        if kind in NDJSON_TYPES:
            return (yield from self._ndjson(body, clock))
        head = body.lstrip()[:1]
        if head not in (b"{", b"["):
            raise MalformedBody("body must be a JSON object (one reading) or an array of readings")
        single = head == b"{"
        parsed = _from_json(body) if len(body) > FAST_CHECK_BYTES else None
        if parsed is not None:
            yield
        if parsed is None or _plain(parsed, single):
            try:
                readings = (
                    [READING_ADAPTER.validate_json(body)] if single else self._array.validate_json(body)
                )
            except ValidationError as exc:
                found = exc.errors(include_url=False, include_input=False)
                _raise_json_error(found, "")
                first = found[0]
                if first["type"] == "too_long":
                    raise self._too_many(first.get("ctx", {}).get("actual_length")) from None
            else:
                if not readings:
                    raise InvalidReadings(
                        "the array is empty: send at least one reading", errors=[], errorCount=0
                    )
                late = apply_clock(readings, clock)
                if late:
                    raise _invalid(
                        [_late_error(i, _problem(readings[i], clock)) for i in late], len(late), len(late)
                    )
                return readings
        yield
        items = _from_json(body) if parsed is None else parsed
        items = [items] if single else items
        if len(items) > self.max_records:
            raise self._too_many(len(items))
        return (yield from _judge(items, None, clock, ""))

    def _count_bytes(self, body: bytes) -> None:
        """413 before parsing for more objects, or more values, than ``max_records`` readings hold.

        No string of a valid reading holds a brace or a comma, so the counts are exact
        for a valid body and an upper bound of the parse's work for any other.
        """
        objects = body.count(b"{")
        if objects > self.max_records:
            raise self._too_many(None, f"{objects} readings (JSON objects)")
        if body.count(b",") >= FIELDS_PER_READING * self.max_records:
            raise self._too_many(None, f"more values than {self.max_records} readings hold")

    def _ndjson(self, body: bytes, clock: ValidationClock) -> Steps:
        lines = [line for line in body.split(b"\n") if line.strip()]
        if len(lines) > self.max_records:
            raise self._too_many(len(lines))
        if not lines:
            raise InvalidReadings(
                "the NDJSON body has no readings: send at least one line", errors=[], errorCount=0
            )
        return (yield from _judge(None, lines, clock, " on line {i} (counting non-empty lines from 0)"))

    def _too_many(self, n: int | None, what: str = "") -> TooLarge:
        count = what or (f"{n} readings" if n is not None else "too many readings")
        return TooLarge(
            f"{count} in one request; the limit is {self.max_records}", limit=self.max_records, unit="records"
        )


def _from_json(body: bytes) -> Any:
    try:
        return from_json(body)
    except ValueError as exc:
        raise MalformedBody(f"malformed JSON: Invalid JSON: {exc}") from None


def _plain(parsed: Any, single: bool) -> bool:
    """Every item an object of few keys: the one-pass validation of the body is cheap."""
    items = [parsed] if single else parsed
    return isinstance(items, list) and all(
        isinstance(item, dict) and len(item) <= MAX_JUDGED_FIELDS for item in items
    )


def _judge(items: list[Any] | None, lines: list[bytes] | None, clock: ValidationClock, where: str) -> Steps:
    """Each reading on its own (parsed ``items`` of a JSON body, or NDJSON ``lines``): the
    valid ones, or the 422 with every problem counted.

    Yields every :data:`SLICE` readings. An object of more than :data:`MAX_JUDGED_FIELDS`
    keys is one error, not one per key; strings longer than any valid one are cut first.
    """
    readings: Readings = []
    index_of: list[int] = []  # the index (or line) of each valid reading
    listed: list[dict[str, Any]] = []
    total = bad = 0
    for i in range(len(items) if items is not None else len(lines or ())):
        if i and not i % SLICE:
            yield
        item, raw = _item_at(i, items, lines, where)
        keys = raw.count(b",") + 1 if item is UNPARSED else len(item) if isinstance(item, dict) else 0
        if keys > MAX_JUDGED_FIELDS:
            total, bad = total + 1, bad + 1
            if len(listed) < MAX_LISTED_ERRORS:
                listed.append(_too_many_fields(i, keys))
            continue
        if item is not UNPARSED:
            item = _shortened(item)
            raw = json.dumps(item).encode()
        try:
            readings.append(READING_ADAPTER.validate_json(raw))
            index_of.append(i)
            continue
        except ValidationError as exc:
            found = exc.errors(include_url=False, include_input=False)
        _raise_json_error(found, where.format(i=i))
        total, bad = total + len(found), bad + 1
        if len(listed) < MAX_LISTED_ERRORS:  # formatted only while they are listed
            listed.extend(_field_errors(found, i))
        if not any(not e["loc"] or e["loc"][-1] in ("timestamp", "type") for e in found):
            problem = raw_timestamp_problem(from_json(raw) if item is UNPARSED else item, clock)
            if problem is not None:
                total += 1
                if len(listed) < MAX_LISTED_ERRORS:
                    listed.append(_late_error(i, problem))
    late = [_late_error(index_of[j], _problem(readings[j], clock)) for j in apply_clock(readings, clock)]
    if listed or late:
        raise _invalid(listed + late, total + len(late), bad + len(late))
    return readings


def _item_at(i: int, items: list[Any] | None, lines: list[bytes] | None, where: str) -> tuple[Any, bytes]:
    """The parsed item (:data:`UNPARSED` for a short NDJSON line, judged as bytes) and its bytes."""
    if items is not None:
        return items[i], b""
    assert lines is not None
    raw = lines[i]
    if len(raw) <= LONG_LINE_BYTES:
        return UNPARSED, raw
    try:
        return from_json(raw), raw
    except ValueError as exc:
        raise MalformedBody(f"malformed JSON{where.format(i=i)}: Invalid JSON: {exc}") from None


def _shortened(item: Any) -> Any:
    """``item`` with every string (key or value) over :data:`MAX_STRING_CHARS` cut: still
    invalid, and cheap to judge and report. (A slice of a shorter string is that string.)"""
    if isinstance(item, str):
        return item[:MAX_STRING_CHARS]
    if isinstance(item, dict):
        n = MAX_STRING_CHARS
        return {k[:n]: v[:n] if type(v) is str else v for k, v in item.items()}
    return item


def _too_many_fields(index: int, keys: int) -> dict[str, Any]:
    return {
        "index": index,
        "field": "$",
        "message": f"an object of about {keys} fields: a reading has at most {FIELDS_PER_READING}",
        "type": "too_many_fields",
    }


def _raise_json_error(found: list[ErrorDetails], where: str) -> None:
    for e in found:
        if e["type"] in ("json_invalid", "json_type"):
            raise MalformedBody(f"malformed JSON{where}: {e['msg']}") from None


def _field_errors(found: list[ErrorDetails], index: int | None) -> list[dict[str, Any]]:
    out = []
    for e in found:
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
            tag = str(e.get("ctx", {}).get("tag"))
            msg = f"type must be 'meter' or 'vehicle', not {_cut(tag, MAX_FIELD_CHARS)!r}"
        out.append({"index": i if i is not None else 0, "field": field, "message": msg, "type": e["type"]})
    return out


def _problem(reading: MeterReading | VehicleReading, clock: ValidationClock) -> TimestampRuleError:
    problem = violation(reading.timestamp, clock)
    assert problem is not None, "apply_clock and violation judge alike"
    return problem


def _late_error(index: int, problem: TimestampRuleError) -> dict[str, Any]:
    """A broken time rule as a field error; the message names the rule and its setting."""
    return {"index": index, "field": "timestamp", "message": f"Value error, {problem}", "type": "value_error"}


def _invalid(errors: list[dict[str, Any]], total: int, bad: int) -> InvalidReadings:
    """The 422 for ``bad`` readings: the first errors by index (each cut to a bounded size)
    and how many there are."""
    errors = sorted(errors, key=lambda e: int(e["index"]))[:MAX_LISTED_ERRORS]
    for e in errors:
        e["field"] = _cut(str(e["field"]), MAX_FIELD_CHARS)
        e["message"] = _cut(str(e["message"]), MAX_MESSAGE_CHARS)
    more = f", {total} error(s) in all, the first {len(errors)} listed" if total > len(errors) else ""
    return InvalidReadings(
        f"{bad} reading(s) invalid{more}; nothing was published", errors=errors, errorCount=total
    )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
