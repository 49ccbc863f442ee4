"""The gateway's errors, each with its HTTP status and a JSON body."""

from __future__ import annotations

import math
from typing import Any


class GatewayError(Exception):
    """An error answered to the client as ``{"error": code, "message": ..., ...}``."""

    status = 500
    code = "internal"

    def __init__(self, message: str, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer."""
        return {"error": self.code, "message": self.message, **self.extra}


def retry_after(seconds: float) -> dict[str, str]:
    """A ``Retry-After`` header of whole seconds, at least 1."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


class MalformedBody(GatewayError):
    """400: the body is not JSON / NDJSON."""

    status, code = 400, "malformed_body"


class Unauthenticated(GatewayError):
    """401: no, or a bad, bearer token."""

    status, code = 401, "unauthenticated"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="ingest"'})


class Forbidden(GatewayError):
    """403: a valid token that may not post these readings."""

    status, code = 403, "forbidden"


class TooLarge(GatewayError):
    """413: too many bytes, records, or one device's readings over its burst."""

    status, code = 413, "too_large"


class UnsupportedMediaType(GatewayError):
    """415: a Content-Type or Content-Encoding the gateway does not read."""

    status, code = 415, "unsupported_media_type"


class InvalidReadings(GatewayError):
    """422: readings that fail validation; carries ``errors`` (index, field, message, type)."""

    status, code = 422, "invalid_readings"


class RateLimited(GatewayError):
    """429: a device is over its rate; carries ``Retry-After``."""

    status, code = 429, "rate_limited"


class KafkaUnavailable(GatewayError):
    """503: Kafka did not take the write within the deadline; carries ``Retry-After``."""

    status, code = 503, "kafka_unavailable"
