"""The gateway's response bodies, as pydantic models (they are also its OpenAPI schemas)."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse


class OrjsonResponse(JSONResponse):
    """JSON rendered by orjson. A JSONResponse subclass, so that FastAPI documents the
    response models' schemas (for other Response classes it documents a bare string)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z)


class Accepted(BaseModel):
    """202: every reading of the request was acknowledged by Kafka (acks=all)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"accepted": 2}]})

    accepted: int = Field(ge=1, description="readings acknowledged by Kafka")


class ErrorBody(BaseModel):
    """Every error answer: a stable machine-readable ``error`` code and a human ``message``."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="stable code, e.g. invalid_readings, rate_limited")
    message: str = Field(description="what is wrong and what to do about it")


class FieldError(BaseModel):
    """One problem with one reading of the request."""

    index: int = Field(ge=0, description="0-based position of the reading (array item or NDJSON line)")
    field: str = Field(description="dotted path of the field, 'type' or '$' for the reading itself")
    message: str
    type: str = Field(
        description="pydantic error type, e.g. less_than_equal, extra_forbidden; too_many_fields for an "
        "object of more than 16 keys (one error, not one per key)"
    )


class InvalidReadingsBody(BaseModel):
    """422: the readings that failed validation; nothing of the request was published."""

    error: str
    message: str
    errors: list[FieldError] = Field(
        max_length=100,
        description="the first 100 problems, by index (fields cut to 64 characters, messages to 200)",
    )
    errorCount: int = Field(ge=0, description="how many problems the request has in all (listed or not)")


class Health(BaseModel):
    """Liveness and readiness answers."""

    status: str
