"""The reason and detail stored with a reject, from the validation error that made it.

Readings are validated as a union tagged by ``type`` (its tag starts every error location
and an unknown tag is ``unknown_type``); session events are one model (``union=False``).
"""

from __future__ import annotations

from pydantic import ValidationError

from schemas.clock import rule_of

MAX_DETAIL = 2000
_UNION_TAGS = ("meter", "vehicle")


def reject_reason(exc: ValidationError, *, union: bool = True) -> str:
    """``invalid_json``, ``unknown_type`` (readings only), a time rule, or ``invalid``."""
    kinds = {e["type"] for e in exc.errors()}
    if kinds & {"json_invalid", "json_type"}:
        return "invalid_json"
    if union and kinds & {"union_tag_invalid", "union_tag_not_found", "model_attributes_type"}:
        return "unknown_type"
    # A time rule, judged at the Kafka message's time: timestamp_future, timestamp_floor,
    # timestamp_max_past_age, or expired.
    rule = rule_of(exc)
    if rule is None:
        return "invalid"
    return "expired" if rule == "retention" else f"timestamp_{rule}"


def reject_detail(exc: ValidationError, *, union: bool = True) -> str:
    """Each error as ``field: message`` (without the union's tag), NULs escaped, bounded."""
    parts = []
    for e in exc.errors(include_url=False, include_input=False):
        loc = e["loc"][1:] if union else e["loc"]
        field = ".".join(str(p) for p in loc if not union or p not in _UNION_TAGS) or "$"
        parts.append(f"{field}: {e['msg']}")
    return "; ".join(parts).replace("\x00", "\\0")[:MAX_DETAIL]
