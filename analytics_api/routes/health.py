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
    """Runs ``SELECT 1`` on a reader and a mapper connection (and on the standby, if any).

    With a standby, ``readSource`` says where reads go now: a standby that is away makes
    reads fall back to the primary, which keeps the API ready, and is named in ``checks``."""
    checks = await ctx.db.ready()
    extra: dict[str, object] = {}
    if ctx.db.reads.has_standby:
        extra["readSource"] = "primary" if ctx.db.reads.state.on_primary else "standby"
        extra["replicaLagSeconds"] = ctx.db.reads.state.lag_s
    if checks["reader"] and checks["mapper"]:
        return JSONResponse({"status": "ready", "checks": checks, **extra})
    failed = ", ".join(name for name, ok in checks.items() if not ok)
    body = {
        "error": "database_unavailable",
        "message": f"no database connection for: {failed}",
        "checks": checks,
        **extra,
    }
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def prometheus(ctx: Context) -> Response:
    """The process's metrics in the Prometheus text format (fleet gauges counted now)."""
    await fleet_gauges.refresh(ctx)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
