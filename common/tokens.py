"""Bearer tokens: HMAC-signed, scoped, stateless.

A token is ``ei1.<scope>.<subject>.<signature>`` where ``subject`` is the base64url of
the device id (device scope) or of a free name (other scopes), and ``signature`` is the
base64url HMAC-SHA256 of everything before it under the deployment's secret. Nothing
secret is stored server-side but the key; a leaked token is revoked by rotating it.

Scopes: ``device`` (post readings of one device), ``fleet`` (post readings of any
device), ``analyst`` (read analytics), ``admin`` (read analytics and write mappings).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum

PREFIX = "ei1"
MIN_SECRET_LENGTH = 32


class Scope(StrEnum):
    DEVICE = "device"
    FLEET = "fleet"
    ANALYST = "analyst"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified token speaks for."""

    scope: Scope
    subject: str


class InvalidTokenError(ValueError):
    """The token is malformed or its signature does not verify."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _check_secret(secret: str) -> bytes:
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"the auth secret must be at least {MIN_SECRET_LENGTH} characters")
    return secret.encode()


def issue(secret: str, scope: Scope, subject: str) -> str:
    """A token for ``subject`` in ``scope``."""
    body = f"{PREFIX}.{scope.value}.{_b64(subject.encode())}"
    sig = hmac.new(_check_secret(secret), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(sig)}"


def verify(secret: str, token: str) -> Principal:
    """The principal of a valid token; raises :class:`InvalidTokenError` otherwise."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != PREFIX:
        raise InvalidTokenError("malformed token")
    body = ".".join(parts[:3])
    expected = _b64(hmac.new(_check_secret(secret), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, parts[3]):
        raise InvalidTokenError("bad token signature")
    try:
        scope = Scope(parts[1])
        subject = _unb64(parts[2]).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidTokenError("malformed token") from exc
    return Principal(scope, subject)
