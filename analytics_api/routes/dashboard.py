"""``GET /dashboard``: the fleet operator's page, and its script and style sheet.

The page holds no data, so it is served without a token; its script asks for an analyst
token once (or takes it from the URL fragment ``#token=...``), keeps it in the browser's
``sessionStorage`` and sends it as ``Authorization: Bearer`` on every API call. A strict
Content-Security-Policy allows only this origin's script, style and API: no inline script.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

router = APIRouter(tags=["dashboard"], include_in_schema=False)

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}


@cache
def _static(name: str) -> bytes:
    return resources.files("analytics_api").joinpath("static", name).read_bytes()


def _file(name: str) -> Response:
    return Response(_static(name), media_type=_FILES[name], headers=HEADERS)


@router.get("/dashboard")
async def dashboard() -> Response:
    """The page (no data in it)."""
    return _file("index.html")


@router.get("/dashboard/app.js")
async def dashboard_script() -> Response:
    """The page's script."""
    return _file("app.js")


@router.get("/dashboard/app.css")
async def dashboard_style() -> Response:
    """The page's style sheet."""
    return _file("app.css")
