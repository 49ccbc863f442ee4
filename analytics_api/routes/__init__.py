"""One router per resource."""

from __future__ import annotations

from typing import Any

from analytics_api.models import ErrorBody

_DESCRIPTIONS = {
    400: "Malformed body",
    401: "Missing or invalid bearer token",
    403: "The token lacks the required scope",
    404: "Unknown device or meter",
    409: "The change contradicts stored mappings",
    422: "Invalid parameter (named in `parameter`)",
    503: "Database unavailable or statement timeout",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses (plus 401, 403, 422 and 503)."""
    wanted = sorted({401, 403, 422, 503, *statuses})
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]} for s in wanted}
