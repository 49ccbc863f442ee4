"""What the WebSocket handshake checks before it upgrades: the charge point id, the
subprotocol and the credential (OCPP Security Profile 1: HTTP Basic; profile 2 is the
same over TLS when the gateway serves TLS).

The Basic credential is ``chargePointId:token``, the token one of ``energy-ingest token
charger ID`` (scope ``charger``, verified with the gateway's keys: signature, key id,
expiry); its subject must be the charge point id of the URL, as must the user name.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence

from common.tokens import InvalidTokenError, Scope
from common.verifier import TokenVerifier
from ingest_gateway.ocpp.errors import HandshakeRefused

# 1..48 characters, so that "{chargePointId}:{connectorId}" fits a 64-character meter id.
CHARGE_POINT_ID = re.compile(r"^[A-Za-z0-9._-]{1,48}$")
SUBPROTOCOLS = {"ocpp1.6": "1.6", "ocpp2.0.1": "2.0.1"}
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="ocpp", charset="UTF-8"'}


def check_charge_point_id(charge_point_id: str) -> None:
    """A charge point id the meter ids can be made of (else 400)."""
    if not CHARGE_POINT_ID.match(charge_point_id):
        raise HandshakeRefused(
            400, "bad_charge_point_id", "the charge point id must be 1 to 48 characters of [A-Za-z0-9._-]"
        )


def choose_subprotocol(offered: Sequence[str]) -> str:
    """The first subprotocol the charge point offers that the gateway speaks (else 400)."""
    for name in offered:
        if name in SUBPROTOCOLS:
            return name
    raise HandshakeRefused(
        400,
        "unsupported_subprotocol",
        f"offer one of the subprotocols {sorted(SUBPROTOCOLS)} (Sec-WebSocket-Protocol); got {list(offered)}",
    )


def _unauthenticated(message: str) -> HandshakeRefused:
    return HandshakeRefused(401, "unauthenticated", message, dict(_CHALLENGE))


def authenticate(authorization: str | None, charge_point_id: str, verifier: TokenVerifier | None) -> None:
    """Accept the Basic credential of ``charge_point_id``, or raise a 401 :class:`HandshakeRefused`.

    ``verifier`` None: authentication is disabled (``AUTH_DISABLED``).
    """
    if verifier is None:
        return
    if not authorization:
        raise _unauthenticated("missing Authorization: Basic <chargePointId:token>")
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise _unauthenticated("Authorization must be Basic (OCPP security profile 1 or 2)")
    try:
        user, sep, token = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthenticated("the Basic credential is not base64 of user:password") from None
    if not sep or user != charge_point_id:
        raise _unauthenticated("the Basic user name must be the charge point id of the URL")
    try:
        principal = verifier(token)
    except InvalidTokenError as exc:
        raise _unauthenticated(f"invalid token: {exc}") from None
    if principal.scope is not Scope.CHARGER or principal.subject != charge_point_id:
        raise _unauthenticated(
            f"this credential is not a charger token of {charge_point_id!r} (energy-ingest token charger ID)"
        )
