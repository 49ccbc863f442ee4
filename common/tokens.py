"""Bearer tokens: HMAC-signed, scoped, expiring, named by the key that signed them.

A token is ``ei2.<kid>.<scope>.<subject>.<expires>.<signature>``: ``kid`` names the key
(:mod:`common.keys`), ``subject`` is the base64url of the device id (device scopes) or of
a free name (other scopes), ``expires`` is the Unix time (whole seconds) from which the
token is refused, and ``signature`` is the base64url HMAC-SHA256 of everything before it
under the key ``kid``. Nothing is stored server-side but the keys; a leaked token is
revoked by removing its key (or waiting out its expiry).

Scopes: ``meter ID`` and ``vehicle ID`` (post readings of that one device of that kind),
``charger ID`` (an OCPP charge point), ``device ID`` (the older device scope: that id of
either kind), ``fleet`` (post readings of any device), ``analyst`` (read analytics),
``admin`` (read analytics and write mappings). ``ei1`` tokens (no key id, no expiry) are
no longer accepted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import time
from dataclasses import dataclass
from enum import StrEnum

from common.keys import DEFAULT_KID, MIN_SECRET_LENGTH, KeyRing

__all__ = ["DEFAULT_KID", "MIN_SECRET_LENGTH", "KeyRing"]

PREFIX = "ei2"
MAX_TOKEN_LENGTH = 1024
MAX_TTL_S = 10 * 365 * 86400
HOUR, DAY = 3600, 86400


class Scope(StrEnum):
    METER = "meter"
    VEHICLE = "vehicle"
    CHARGER = "charger"
    DEVICE = "device"
    FLEET = "fleet"
    ANALYST = "analyst"
    ADMIN = "admin"


DEVICE_SCOPES = frozenset({Scope.METER, Scope.VEHICLE, Scope.CHARGER, Scope.DEVICE})

# Devices are flashed once and live long; people's tokens last a working day; a fleet
# token belongs to an aggregator service and is re-issued monthly.
DEFAULT_TTL_S = {
    Scope.METER: 365 * DAY,
    Scope.VEHICLE: 365 * DAY,
    Scope.CHARGER: 365 * DAY,
    Scope.DEVICE: 365 * DAY,
    Scope.FLEET: 30 * DAY,
    Scope.ANALYST: 8 * HOUR,
    Scope.ADMIN: 8 * HOUR,
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified token speaks for, and until when."""

    scope: Scope
    subject: str
    kid: str = DEFAULT_KID
    expires_at: int = 0


class InvalidTokenError(ValueError):
    """The token is malformed or its signature does not verify."""


class UnknownKeyError(InvalidTokenError):
    """The token names a key id that is not (or no longer) configured."""


class ExpiredTokenError(InvalidTokenError):
    """The token's expiry has passed."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(raw) != text:  # the decoder skips stray characters; accept only the canonical form
        raise ValueError("not canonical base64url")
    return raw


def _sign(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())


def _ring(keys: KeyRing | str) -> KeyRing:
    return keys if isinstance(keys, KeyRing) else KeyRing.single(keys)


def issue(
    keys: KeyRing | str,
    scope: Scope,
    subject: str,
    *,
    ttl_s: float | None = None,
    kid: str | None = None,
    now: float | None = None,
) -> str:
    """A token for ``subject`` in ``scope``, valid for ``ttl_s`` (default: the scope's).

    ``keys`` is a key ring (signed with its signing key, or ``kid``) or one secret (kid
    ``default``).
    """
    ttl = DEFAULT_TTL_S[scope] if ttl_s is None else ttl_s
    if not 0 < ttl <= MAX_TTL_S:
        raise ValueError(f"the lifetime must be between 1 s and {MAX_TTL_S} s, not {ttl}")
    if not subject:
        raise ValueError("the token needs a subject")
    kid, secret = _ring(keys).signing(kid)
    expires = math.ceil((time.time() if now is None else now) + ttl)
    body = f"{PREFIX}.{kid}.{scope.value}.{_b64(subject.encode())}.{expires}"
    return f"{body}.{_sign(secret, body)}"


def verify(keys: KeyRing | str, token: str, *, now: float | None = None) -> Principal:
    """The principal of a valid token; raises :class:`InvalidTokenError` otherwise."""
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise InvalidTokenError("malformed token")
    parts = token.split(".")
    if parts[0] == "ei1":
        raise InvalidTokenError("malformed token: ei1 tokens (no expiry) are no longer accepted")
    if len(parts) != 6 or parts[0] != PREFIX:
        raise InvalidTokenError("malformed token")
    kid, scope_text, subject_text, expires_text, signature = parts[1:]
    secret = _ring(keys).secret(kid)
    if secret is None:
        raise UnknownKeyError(f"unknown key id {kid!r}")
    body = token.rpartition(".")[0]
    if not hmac.compare_digest(_sign(secret, body).encode(), signature.encode()):
        raise InvalidTokenError("bad token signature")
    try:
        scope = Scope(scope_text)
        subject = _unb64(subject_text).decode()
        if not (expires_text.isdigit() and len(expires_text) <= 12):
            raise ValueError("bad expiry")
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise InvalidTokenError("malformed token") from exc
    expires = int(expires_text)
    if (time.time() if now is None else now) >= expires:
        raise ExpiredTokenError(f"token expired at {expires} (Unix time); issue a new one")
    return Principal(scope, subject, kid, expires)
