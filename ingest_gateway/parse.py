"""Turn a request body into validated readings, or a precise error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from ingest_gateway.errors import InvalidReadings, MalformedBody, TooLarge, UnsupportedMediaType
from schemas import READING_ADAPTER, READINGS_ADAPTER, MeterReading, ValidationClock, VehicleReading

JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")

Readings = list[MeterReading | VehicleReading]


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` → ``application/json``; 415 if unsupported."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    if base in JSON_TYPES or base in NDJSON_TYPES:
        return base
    raise UnsupportedMediaType(
        f"Content-Type must be application/json or application/x-ndjson, not {base or 'missing'}",
        supported=[*JSON_TYPES, NDJSON_TYPES[0]],
    )


def _field_errors(exc: ValidationError, index: int | None) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors(include_url=False, include_input=False):
        loc = list(e["loc"])
        i = index
        if index is None and loc and isinstance(loc[0], int):
            i = int(loc.pop(0))
        if loc and loc[0] in ("meter", "vehicle"):
            loc.pop(0)
        field = ".".join(str(p) for p in loc) or ("type" if "union_tag" in e["type"] else "$")
        msg = e["msg"]
        if e["type"] == "union_tag_not_found":
            msg = "field required: type must be 'meter' or 'vehicle'"
        out.append({"index": i if i is not None else 0, "field": field, "message": msg, "type": e["type"]})
    return out


def _is_json_error(exc: ValidationError) -> bool:
    return any(e["type"] in ("json_invalid", "json_type") for e in exc.errors())


def parse_readings(body: bytes, kind: str, now: datetime, skew: timedelta, max_records: int) -> Readings:
    """All readings of the body, validated; raises 400, 413 or 422 errors."""
    ctx = {"clock": ValidationClock(now=now.astimezone(UTC), max_future_skew=skew)}
    if kind in NDJSON_TYPES:
        return _parse_ndjson(body, ctx, max_records)
    head = body.lstrip()[:1]
    if head not in (b"{", b"["):
        raise MalformedBody("body must be a JSON object (one reading) or an array of readings")
    try:
        if head == b"{":
            return [READING_ADAPTER.validate_json(body, context=ctx)]
        readings = READINGS_ADAPTER.validate_json(body, context=ctx)
    except ValidationError as exc:
        if _is_json_error(exc):
            raise MalformedBody(f"malformed JSON: {exc.errors()[0]['msg']}") from None
        errors = _field_errors(exc, 0 if head == b"{" else None)
        raise _invalid(errors) from None
    _check_count(len(readings), max_records)
    if not readings:
        raise InvalidReadings("the array is empty: send at least one reading", errors=[])
    return readings


def _parse_ndjson(body: bytes, ctx: dict[str, ValidationClock], max_records: int) -> Readings:
    lines = [line for line in body.split(b"\n") if line.strip()]
    _check_count(len(lines), max_records)
    if not lines:
        raise MalformedBody("the NDJSON body has no readings")
    readings: Readings = []
    errors: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        try:
            readings.append(READING_ADAPTER.validate_json(line, context=ctx))
        except ValidationError as exc:
            if _is_json_error(exc):
                raise MalformedBody(f"malformed JSON on record {i}: {exc.errors()[0]['msg']}") from None
            errors.extend(_field_errors(exc, i))
    if errors:
        raise _invalid(errors)
    return readings


def _check_count(n: int, max_records: int) -> None:
    if n > max_records:
        raise TooLarge(f"{n} readings in one request; the limit is {max_records}", limit=max_records)


def _invalid(errors: list[dict[str, Any]]) -> InvalidReadings:
    bad = len({e["index"] for e in errors})
    return InvalidReadings(f"{bad} reading(s) invalid; nothing was published", errors=errors[:1000])
