"""Request dependencies, as ``Annotated`` aliases: context, callers, windows, path ids.

They are ``async`` (none of them blocks): FastAPI runs a plain ``def`` dependency in a
worker thread, three hand-offs per request that cost about a quarter of a performance
request's latency under load (docs/analytics-benchmark.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from analytics_api.auth import bearer_principal
from analytics_api.db import Database
from analytics_api.errors import Forbidden
from analytics_api.fleet_answers import FleetAnswers, database_compute
from analytics_api.settings import AnalyticsSettings
from analytics_api.window import Clock, Window, resolve_window
from common.tokens import Principal, Scope
from common.verifier import TokenVerifier
from schemas.readings import ID_PATTERN

READ_SCOPES = (Scope.ANALYST, Scope.ADMIN)
WRITE_SCOPES = (Scope.ADMIN,)
DEFAULT_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class AppContext:
    """What every request needs: settings, database and clock (set up by ``create_app``).

    ``verifier`` checks tokens (``None`` when auth is disabled); made from the settings' keys.
    ``fleet``: the fleet answers kept warm (its refresher runs with the app's lifespan).
    """

    settings: AnalyticsSettings
    db: Database
    clock: Clock
    verifier: TokenVerifier | None = field(default=None)
    fleet: FleetAnswers = field(init=False)

    def __post_init__(self) -> None:
        if self.verifier is None and not self.settings.auth_disabled:
            object.__setattr__(self, "verifier", TokenVerifier(self.settings.keyring()))
        s = self.settings
        compute = database_compute(self.db, self.clock, s.low_efficiency_threshold)
        fleet = FleetAnswers(compute, self.clock, ttl_s=s.fleet_cache_ttl_s, warm_for_s=s.fleet_warm_for_s)
        object.__setattr__(self, "fleet", fleet)


async def get_context(request: Request) -> AppContext:
    """The application's context."""
    ctx = request.app.state.analytics
    assert isinstance(ctx, AppContext)
    return ctx


Context = Annotated[AppContext, Depends(get_context)]

_bearer = HTTPBearer(auto_error=False, description="an analyst or admin token (admin to change mappings)")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def authorize(ctx: AppContext, authorization: str | None, allowed: tuple[Scope, ...]) -> Principal | None:
    """The caller of an ``Authorization`` header if its scope is ``allowed`` (``None`` only
    when auth is disabled); :class:`Unauthenticated` or :class:`Forbidden` otherwise."""
    if ctx.settings.auth_disabled:
        return None
    assert ctx.verifier is not None  # made whenever auth is on
    principal = bearer_principal(ctx.verifier, authorization)
    if principal.scope not in allowed:
        wanted = " or ".join(s.value for s in allowed)
        raise Forbidden(f"a {principal.scope.value} token cannot do this; it needs the {wanted} scope")
    return principal


# ``credentials`` (HTTPBearer) documents the scheme; the header itself is checked by authorize.
async def require_reader(ctx: Context, request: Request, credentials: Credentials) -> Principal | None:
    """An analyst or admin caller (``None`` only when auth is disabled)."""
    return authorize(ctx, request.headers.get("authorization"), READ_SCOPES)


async def require_admin(ctx: Context, request: Request, credentials: Credentials) -> Principal | None:
    """An admin caller (``None`` only when auth is disabled)."""
    return authorize(ctx, request.headers.get("authorization"), WRITE_SCOPES)


Reader = Annotated[Principal | None, Depends(require_reader)]
Admin = Annotated[Principal | None, Depends(require_admin)]


async def time_window(
    ctx: Context,
    from_: Annotated[
        str | None,
        Query(alias="from", description="window start, RFC 3339 with offset (default: `to` minus 24 h)"),
    ] = None,
    to: Annotated[
        str | None, Query(description="window end, exclusive, RFC 3339 with offset (default: now)")
    ] = None,
) -> Window:
    """The half-open window ``[from, to)`` of the request, capped at ``MAX_WINDOW_DAYS``."""
    return request_window(ctx, from_, to)


def request_window(ctx: AppContext, from_: str | None, to: str | None) -> Window:
    """:func:`time_window` of raw ``from`` and ``to`` parameters."""
    return resolve_window(
        from_,
        to,
        now=ctx.clock(),
        default_length=DEFAULT_WINDOW,
        max_length=timedelta(days=ctx.settings.max_window_days),
    )


TimeWindow = Annotated[Window, Depends(time_window)]

_ID_DOC = "1 to 64 letters, digits or ._:-"
VehicleId = Annotated[str, Path(alias="vehicleId", pattern=ID_PATTERN, description=f"vehicle id: {_ID_DOC}")]
MeterId = Annotated[str, Path(alias="meterId", pattern=ID_PATTERN, description=f"meter id: {_ID_DOC}")]
