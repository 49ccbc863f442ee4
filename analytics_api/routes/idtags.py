"""``PUT`` and ``GET /v1/idtags/{idTag}``: which vehicle a charging card belongs to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from analytics_api.deps import Admin, Context, Reader
from analytics_api.errors import Conflict, InvalidParameter, NotFound
from analytics_api.idtags import IdTagConflictError, IdTagRange, InvalidIdTagError, list_idtag, set_idtag
from analytics_api.routes import error_responses
from analytics_api.session_models import IdTagIn, IdTagInfo, IdTagRangeOut, IdTagResult
from schemas.sessions import ID_TAG_PATTERN

router = APIRouter(tags=["sessions"])

IdTag = Annotated[
    str,
    Path(alias="idTag", pattern=ID_TAG_PATTERN, description="the card: 1 to 36 printable ASCII characters"),
]


def _model(r: IdTagRange) -> IdTagRangeOut:
    return IdTagRangeOut(
        vehicle_id=r.vehicle_id, valid_from=r.valid_from, valid_to=r.valid_to, created_at=r.created_at
    )


@router.put(
    "/v1/idtags/{idTag}",
    status_code=200,
    responses={201: {"model": IdTagResult, "description": "First registration"}, **error_responses(400, 409)},
    summary="Register a charging card (OCPP idTag) to a vehicle; its sessions map their meter to it",
)
async def put_idtag(_: Admin, id_tag: IdTag, body: IdTagIn, ctx: Context, response: Response) -> IdTagResult:
    """A first registration covers all time (201), so sessions already stored with the card are
    mapped too; a change to another vehicle applies from now on (200), earlier sessions keep the
    vehicle the card had at their start; the same vehicle again changes nothing (200). Admin only."""
    try:
        async with ctx.db.mapper_connection() as conn:
            change = await set_idtag(conn, id_tag, body.vehicle_id, now=ctx.clock())
    except IdTagConflictError as exc:
        raise Conflict(str(exc)) from None
    except InvalidIdTagError as exc:
        raise InvalidParameter("body", str(exc)) from None
    response.status_code = 201 if change.created else 200
    return IdTagResult(
        id_tag=id_tag,
        vehicle_id=change.current.vehicle_id,
        created=change.created,
        changed=change.changed,
        current=_model(change.current),
        closed=_model(change.closed) if change.closed else None,
        sessions_remapped=change.sessions,
    )


@router.get(
    "/v1/idtags/{idTag}", responses=error_responses(404), summary="A charging card's vehicle, over time"
)
async def get_idtag(_: Reader, id_tag: IdTag, ctx: Context) -> IdTagInfo:
    """Read on the primary, as the writes are, so a PUT is seen by the next GET."""
    async with ctx.db.mapper_connection() as conn:
        ranges = await list_idtag(conn, id_tag)
    if not ranges:
        raise NotFound(f"idTag {id_tag!r} is not registered")
    now = ctx.clock()
    current = next((r for r in ranges if r.contains(now)), None)
    return IdTagInfo(
        id_tag=id_tag, current=_model(current) if current else None, history=[_model(r) for r in ranges]
    )
