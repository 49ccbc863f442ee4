"""Bearer-token authentication of devices and aggregators."""

from __future__ import annotations

from collections.abc import Iterable

from common.tokens import InvalidTokenError, Principal, Scope
from common.verifier import TokenVerifier
from ingest_gateway.errors import Forbidden, Unauthenticated
from schemas import device_id_of
from schemas.readings import MeterReading, VehicleReading

INGEST_SCOPES = (Scope.METER, Scope.VEHICLE, Scope.DEVICE, Scope.FLEET)
# The reading type each device scope may post (``device``: either, as before kinds).
KIND_OF_SCOPE = {Scope.METER: "meter", Scope.VEHICLE: "vehicle"}


def authenticate(
    authorization: str | None, verifier: TokenVerifier | None, disabled: bool
) -> Principal | None:
    """The caller; ``None`` only when authentication is explicitly disabled."""
    if disabled:
        return None
    if not authorization:
        raise Unauthenticated("missing Authorization: Bearer <token> header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be 'Bearer <token>'")
    assert verifier is not None  # settings refuse auth without keys
    try:
        principal = verifier(token.strip())
    except InvalidTokenError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from None
    if principal.scope not in INGEST_SCOPES:
        hint = "use a device or fleet token"
        if principal.scope is Scope.CHARGER:
            hint = "charger tokens are for OCPP"
        raise Forbidden(f"a {principal.scope.value} token cannot post readings; {hint}")
    return principal


def authorize_devices(principal: Principal | None, readings: Iterable[MeterReading | VehicleReading]) -> None:
    """A device token may post only its own readings (of its own kind); a fleet token any."""
    if principal is None or principal.scope is Scope.FLEET:
        return
    kind = KIND_OF_SCOPE.get(principal.scope)
    for i, reading in enumerate(readings):
        device = device_id_of(reading)
        if device != principal.subject:
            raise Forbidden(
                f"reading {i} is for device {device!r}; this token may only post for {principal.subject!r}",
                index=i,
            )
        if kind is not None and reading.type != kind:
            raise Forbidden(
                f"reading {i} is a {reading.type} reading; this {principal.scope.value} token may only "
                f"post {kind} readings of {principal.subject!r}",
                index=i,
            )
