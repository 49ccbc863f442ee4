"""``PUT`` and ``GET /v1/mappings/meters/{meterId}``: which vehicle a meter feeds, over time."""

from __future__ import annotations

from fastapi import APIRouter

from analytics_api.deps import Admin, Context, MeterId, Reader
from analytics_api.errors import Conflict, InvalidParameter, NotFound
from analytics_api.mapping import (
    InvalidMappingError,
    MappingConflictError,
    MappingRange,
    list_mappings,
    set_mapping,
)
from analytics_api.models import Mapping, MappingIn, MappingResult, MeterMappings
from analytics_api.routes import error_responses

router = APIRouter(tags=["mappings"])


def _model(r: MappingRange) -> Mapping:
    return Mapping(
        vehicle_id=r.vehicle_id,
        valid_from=r.valid_from,
        valid_to=r.valid_to,
        created_at=r.created_at,
        source="ocpp" if r.source == "ocpp" else "manual",
        transaction_id=r.transaction_id,
    )


@router.put(
    "/v1/mappings/meters/{meterId}",
    responses=error_responses(400, 409),
    summary="Map a meter to a vehicle (from validFrom, default: all time for a first mapping, else now)",
)
async def put_mapping(_: Admin, meter_id: MeterId, body: MappingIn, ctx: Context) -> MappingResult:
    """Closes the open range at ``validFrom`` and opens ``[validFrom, ∞)``; idempotent. Admin only."""
    try:
        async with ctx.db.mapper_connection() as conn:
            change = await set_mapping(conn, meter_id, body.vehicle_id, body.valid_from, now=ctx.clock())
    except MappingConflictError as exc:
        raise Conflict(str(exc)) from None
    except InvalidMappingError as exc:
        raise InvalidParameter("body", str(exc)) from None
    return MappingResult(
        meter_id=meter_id,
        changed=change.changed,
        current=_model(change.current),
        closed=_model(change.closed) if change.closed else None,
    )


@router.get(
    "/v1/mappings/meters/{meterId}",
    responses=error_responses(404),
    summary="A meter's current and past mappings",
)
async def get_mappings(_: Reader, meter_id: MeterId, ctx: Context) -> MeterMappings:
    """Every range, newest first; ``current`` is the one in force now (if any). Read on the
    primary, as the writes are, so a PUT is seen by the next GET even with a standby."""
    async with ctx.db.mapper_connection() as conn:
        ranges = await list_mappings(conn, meter_id)
    if not ranges:
        raise NotFound(f"meter {meter_id!r} has never been mapped")
    now = ctx.clock()
    current = next((r for r in ranges if r.contains(now)), None)
    return MeterMappings(
        meter_id=meter_id,
        current=_model(current) if current else None,
        mappings=[_model(r) for r in ranges],
    )
