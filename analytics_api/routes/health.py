"""``/healthz``, ``/readyz`` and ``/metrics`` (no credentials needed)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from analytics_api import fleet_gauges
from analytics_api.deps import Context
from analytics_api.models import ErrorBody, Health, Readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> Health:
    """Always ok while the process serves requests."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": ErrorBody, "description": "The database is not reachable"}},
    summary="The database answers on both pools",
)
async def readyz(ctx: Context) -> Response:
    """Runs ``SELECT 1`` on a reader and a mapper connection."""
    checks = await ctx.db.ready()
    if all(checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    failed = ", ".join(name for name, ok in checks.items() if not ok)
    body = {
        "error": "database_unavailable",
        "message": f"no database connection for: {failed}",
        "checks": checks,
    }
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def prometheus(ctx: Context) -> Response:
    """The process's metrics in the Prometheus text format (fleet gauges counted now)."""
    await fleet_gauges.refresh(ctx)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
