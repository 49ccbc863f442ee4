"""Bearer-token authentication of devices and aggregators."""

from __future__ import annotations

from collections.abc import Iterable

from common.tokens import InvalidTokenError, Principal, Scope, verify
from ingest_gateway.errors import Forbidden, Unauthenticated

INGEST_SCOPES = (Scope.DEVICE, Scope.FLEET)


def authenticate(authorization: str | None, secret: str | None, disabled: bool) -> Principal | None:
    """The caller; ``None`` only when authentication is explicitly disabled."""
    if disabled:
        return None
    if not authorization:
        raise Unauthenticated("missing Authorization: Bearer <token> header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be 'Bearer <token>'")
    assert secret is not None  # settings refuse auth without a secret
    try:
        principal = verify(secret, token.strip())
    except InvalidTokenError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from None
    if principal.scope not in INGEST_SCOPES:
        raise Forbidden(f"a {principal.scope.value} token cannot post readings; use a device or fleet token")
    return principal


def authorize_devices(principal: Principal | None, device_ids: Iterable[str]) -> None:
    """A device token may post only its own readings; a fleet token any."""
    if principal is None or principal.scope is Scope.FLEET:
        return
    for i, device in enumerate(device_ids):
        if device != principal.subject:
            raise Forbidden(
                f"reading {i} is for device {device!r}; this token may only post for {principal.subject!r}",
                index=i,
            )
