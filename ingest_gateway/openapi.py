"""OpenAPI documentation of the ingest endpoint: bodies and every status code."""

from __future__ import annotations

from typing import Any

METER_EXAMPLE = {
    "type": "meter",
    "meterId": "m-123",
    "kwhConsumedAc": 50.5,
    "voltage": 240,
    "timestamp": "2023-10-27T10:00:00Z",
}
VEHICLE_EXAMPLE = {
    "type": "vehicle",
    "vehicleId": "v-tesla-01",
    "soc": 85.0,
    "kwhDeliveredDc": 48.0,
    "batteryTemp": 35.2,
    "timestamp": "2023-10-27T10:00:00Z",
}


def _error(example_code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorBody"},
                "example": {"error": example_code, "message": message, **extra},
            }
        }
    }


def ingest_openapi_extra(reading_schema_ref: str) -> dict[str, Any]:
    """``openapi_extra`` for POST /v1/ingest: the three body forms."""
    one_or_many = {
        "oneOf": [
            {"$ref": reading_schema_ref},
            {"type": "array", "items": {"$ref": reading_schema_ref}, "minItems": 1},
        ]
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": one_or_many,
                    "examples": {
                        "meter": {"value": METER_EXAMPLE},
                        "vehicle": {"value": VEHICLE_EXAMPLE},
                        "batch": {"value": [METER_EXAMPLE, VEHICLE_EXAMPLE]},
                    },
                },
                "application/x-ndjson": {
                    "schema": {"type": "string", "description": "one reading per line"},
                },
            },
        }
    }


INGEST_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed body", **_error("malformed_body", "malformed JSON: EOF while parsing")},
    401: {
        "description": "Missing or invalid token",
        **_error("unauthenticated", "missing Authorization: Bearer <token> header"),
    },
    403: {
        "description": "Token may not post for this device",
        **_error("forbidden", "reading 0 is for device 'm-9'; this token may only post for 'm-123'", index=0),
    },
    413: {
        "description": "Too many bytes or records",
        **_error("too_large", "12000 readings in one request; the limit is 10000", limit=10000),
    },
    415: {
        "description": "Unsupported Content-Type",
        **_error(
            "unsupported_media_type",
            "Content-Type must be application/json or application/x-ndjson, not text/plain",
        ),
    },
    422: {
        "description": "Invalid readings; nothing was published",
        **_error(
            "invalid_readings",
            "1 reading(s) invalid; nothing was published",
            errors=[
                {
                    "index": 1,
                    "field": "soc",
                    "message": "Input should be less than or equal to 100",
                    "type": "less_than_equal",
                }
            ],
        ),
    },
    429: {
        "description": "Rate limited (see Retry-After)",
        **_error("rate_limited", "device 'm-123' is over its rate; retry in 2 s"),
    },
    503: {
        "description": "Kafka could not take the write in time (see Retry-After)",
        **_error(
            "kafka_unavailable",
            "Kafka did not acknowledge the write within 5 s; nothing is acknowledged, retry later",
        ),
    },
}
