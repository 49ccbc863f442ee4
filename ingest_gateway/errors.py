"""The gateway's errors, each with its HTTP status and a JSON body."""

from __future__ import annotations

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
        return {"error": self.code, "message": self.message, **self.extra}


class MalformedBody(GatewayError):
    status, code = 400, "malformed_body"


class Unauthenticated(GatewayError):
    status, code = 401, "unauthenticated"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="ingest"'})


class Forbidden(GatewayError):
    status, code = 403, "forbidden"


class TooLarge(GatewayError):
    status, code = 413, "too_large"


class UnsupportedMediaType(GatewayError):
    status, code = 415, "unsupported_media_type"


class InvalidReadings(GatewayError):
    status, code = 422, "invalid_readings"


class RateLimited(GatewayError):
    status, code = 429, "rate_limited"


class KafkaUnavailable(GatewayError):
    status, code = 503, "kafka_unavailable"
