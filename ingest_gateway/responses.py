"""The documented answers of each route: every status code with example bodies and headers."""

from __future__ import annotations

from typing import Any

from ingest_gateway.models import Accepted, ErrorBody, InvalidReadingsBody

RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 1},
    }
}
WWW_AUTHENTICATE = {
    "WWW-Authenticate": {"description": 'always `Bearer realm="ingest"`', "schema": {"type": "string"}}
}


def _error(
    description: str, examples: dict[str, dict[str, Any]], model: type = ErrorBody, **extra: Any
) -> dict[str, Any]:
    return {
        "description": description,
        "model": model,
        "content": {"application/json": {"examples": {k: {"value": v} for k, v in examples.items()}}},
        **extra,
    }


def ingest_responses(max_records: int, max_body_bytes: int, burst: int) -> dict[int | str, dict[str, Any]]:
    """Every answer of POST /v1/ingest with an example body."""
    return {
        202: {
            "model": Accepted,
            "description": "Every reading was acknowledged by Kafka (acks=all)",
            "content": {"application/json": {"example": {"accepted": 2}}},
        },
        400: _error(
            "Malformed body: not JSON, not an object or array, or a bad NDJSON line",
            {
                "json": {
                    "error": "malformed_body",
                    "message": "malformed JSON: Invalid JSON: EOF while parsing an object at line 1 column 6",
                },
                "scalar": {
                    "error": "malformed_body",
                    "message": "body must be a JSON object (one reading) or an array of readings",
                },
            },
        ),
        401: _error(
            "Missing or invalid bearer token",
            {
                "missing": {
                    "error": "unauthenticated",
                    "message": "missing Authorization: Bearer <token> header",
                },
                "invalid": {"error": "unauthenticated", "message": "invalid token: bad token signature"},
            },
            headers=WWW_AUTHENTICATE,
        ),
        403: _error(
            "The token may not post these readings",
            {
                "other_device": {
                    "error": "forbidden",
                    "message": "reading 0 is for device 'm-9'; this token may only post for 'm-123'",
                    "index": 0,
                },
                "scope": {
                    "error": "forbidden",
                    "message": "a analyst token cannot post readings; use a device or fleet token",
                },
            },
        ),
        413: _error(
            "Too large: bytes, records, or one device's readings above its burst",
            {
                "bytes": {
                    "error": "too_large",
                    "message": f"body over {max_body_bytes} bytes",
                    "limit": max_body_bytes,
                    "unit": "bytes",
                },
                "records": {
                    "error": "too_large",
                    "message": f"{max_records + 1} readings in one request; the limit is {max_records}",
                    "limit": max_records,
                    "unit": "records",
                },
                "device_burst": {
                    "error": "too_large",
                    "message": f"{burst + 1} readings for device 'm-123' in one request; "
                    f"a device may send at most {burst} at once: split the request",
                    "limit": burst,
                    "unit": "records per device",
                    "device": "m-123",
                },
            },
        ),
        415: _error(
            "Unsupported Content-Type or Content-Encoding",
            {
                "type": {
                    "error": "unsupported_media_type",
                    "message": "Content-Type must be application/json or application/x-ndjson, "
                    "not text/plain",
                    "supported": ["application/json", "application/x-ndjson"],
                },
            },
        ),
        422: _error(
            "Invalid readings: the first 100 problems (index, field) and their total; nothing was published",
            {
                "invalid": {
                    "error": "invalid_readings",
                    "message": "1 reading(s) invalid; nothing was published",
                    "errors": [
                        {
                            "index": 1,
                            "field": "soc",
                            "message": "Input should be less than or equal to 100",
                            "type": "less_than_equal",
                        },
                    ],
                    "errorCount": 1,
                },
            },
            model=InvalidReadingsBody,
        ),
        408: _error(
            "The request body did not arrive within REQUEST_READ_TIMEOUT_S; the connection is closed",
            {
                "slow": {
                    "error": "request_timeout",
                    "message": "the request body did not arrive within 10 s",
                },
            },
        ),
        429: _error(
            "A device is over its rate; retry after Retry-After seconds",
            {
                "rate": {
                    "error": "rate_limited",
                    "message": "over the per-device rate (10/s, burst 2000); retry in 2 s",
                },
            },
            headers=RETRY_AFTER,
        ),
        503: _error(
            "Kafka did not acknowledge within the deadline, or more than MAX_CONCURRENT_REQUESTS "
            "requests are in progress; retry after Retry-After seconds",
            {
                "overloaded": {
                    "error": "overloaded",
                    "message": "more than 1000 requests in progress; retry later",
                },
                "kafka": {
                    "error": "kafka_unavailable",
                    "message": "Kafka did not acknowledge the write within 5 s; nothing is acknowledged, "
                    "retry the whole request: a reading sent twice is stored once",
                    "deadline_s": 5.0,
                },
            },
            headers=RETRY_AFTER,
        ),
    }


READYZ_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Kafka answers", "content": {"application/json": {"example": {"status": "ready"}}}},
    503: _error(
        "Kafka is not reachable",
        {
            "down": {"error": "kafka_unavailable", "message": "Kafka is not reachable"},
        },
        headers=RETRY_AFTER,
    ),
}
