"""JSON answers for the framework's own HTTP errors (404, 405, ...), shared by both APIs."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.routing import Route

from common.jsonresponse import JsonResponse

CODES = {404: "not_found", 405: "method_not_allowed"}


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method any route of ``app`` serves at ``path``.

    Starlette answers 405 from the first route whose path matches, so when GET and PUT of
    one path live in separate routes its ``Allow`` header names only one of them.
    """
    methods: set[str] = set()
    for route in app.routes:
        if isinstance(route, Route) and route.methods and route.path_regex.match(path):
            methods |= route.methods
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Answer HTTP errors as ``{"error", "message"}`` with a complete ``Allow`` on 405."""

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JsonResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(app, request.url.path))
        body = {"error": CODES.get(exc.status_code, "http_error"), "message": str(exc.detail)}
        return JsonResponse(body, status_code=exc.status_code, headers=headers)
