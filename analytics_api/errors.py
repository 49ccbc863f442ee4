"""The analytics API's errors, each with its HTTP status and a JSON body."""

from __future__ import annotations

from typing import Any, ClassVar


class ApiError(Exception):
    """An error answered as ``{"error": code, "message": ..., ...extra}``."""

    status = 500
    code = "internal"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer."""
        return {"error": self.code, "message": self.message, **self.extra}


class MalformedBody(ApiError):
    """The request body is not JSON."""

    status, code = 400, "malformed_body"


class Unauthenticated(ApiError):
    """No credentials, or credentials that do not verify."""

    status, code = 401, "unauthenticated"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="analytics"'})


class Forbidden(ApiError):
    """Valid credentials without the scope the route needs."""

    status, code = 403, "forbidden"


class NotFound(ApiError):
    """An unknown device or a meter without mappings."""

    status, code = 404, "not_found"


class Conflict(ApiError):
    """The request contradicts the stored state (e.g. a mapping that rewrites history)."""

    status, code = 409, "conflict"


class TooLarge(ApiError):
    """The request body is over the API's limit."""

    status, code = 413, "too_large"


class InvalidParameter(ApiError):
    """A query, path or body parameter is invalid; ``parameter`` names it."""

    status, code = 422, "invalid_parameter"

    def __init__(self, parameter: str, message: str, **extra: Any) -> None:
        super().__init__(f"{parameter}: {message}", parameter=parameter, **extra)


class QueryTimeout(ApiError):
    """The query ran into ``statement_timeout``."""

    status, code = 503, "query_timeout"


class DatabaseUnavailable(ApiError):
    """No database connection could be had in time.

    The answer is a fixed text: the driver's message names the server, port, role and
    database, so it is logged (``detail``) and never sent to the client.
    """

    status, code = 503, "database_unavailable"
    MESSAGES: ClassVar[dict[str, str]] = {
        "pool": "no database connection available; retry later",
        "connection": "the database is unreachable; retry later",
    }

    def __init__(self, cause: str, *, retry_after_s: int, detail: str = "") -> None:
        super().__init__(self.MESSAGES[cause], headers={"Retry-After": str(retry_after_s)})
        self.cause = cause
        self.detail = detail
