"""The token keys of a deployment: every key that verifies, and the one that signs.

Keys are named by a key id (``kid``) carried in each token, so a key can be rotated
without downtime: add the new key to every verifier, sign with it, re-issue, and remove
the old key once its tokens are gone (removing it makes them invalid at once).

Sources, combined: ``AUTH_KEYS`` (``kid1:secret1,kid2:secret2``), ``AUTH_KEYS_FILE`` (a
JSON object ``{"kid": "secret", ...}``) and, for compatibility, ``AUTH_SECRET`` (one key
whose kid is ``default``). The signing key is ``AUTH_SIGNING_KID``, else the first key
listed (``AUTH_KEYS`` first, then the file, then ``AUTH_SECRET``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MIN_SECRET_LENGTH = 32
DEFAULT_KID = "default"
KID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}\Z")


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Secrets by key id, in the order given, and the key id that signs new tokens."""

    keys: Mapping[str, bytes]
    signing_kid: str

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("no token key configured")
        for kid, secret in self.keys.items():
            if not KID_PATTERN.match(kid):
                raise ValueError(f"key id {kid!r} must be 1 to 32 letters, digits, '_' or '-'")
            if len(secret) < MIN_SECRET_LENGTH:
                raise ValueError(f"the secret of key {kid!r} must be at least {MIN_SECRET_LENGTH} characters")
        if self.signing_kid not in self.keys:
            known = ", ".join(self.keys)
            raise ValueError(f"the signing key id {self.signing_kid!r} is not among the keys ({known})")

    @classmethod
    def single(cls, secret: str, kid: str = DEFAULT_KID) -> KeyRing:
        """One key (``AUTH_SECRET``'s case)."""
        return cls({kid: secret.encode()}, kid)

    def secret(self, kid: str) -> bytes | None:
        """The secret of ``kid``, or ``None`` for an unknown key id."""
        return self.keys.get(kid)

    def signing(self, kid: str | None = None) -> tuple[str, bytes]:
        """The key that signs: ``kid`` if given, else the configured signing key."""
        kid = kid or self.signing_kid
        secret = self.keys.get(kid)
        if secret is None:
            raise ValueError(f"no key {kid!r}; configured: {', '.join(self.keys)}")
        return kid, secret


def parse_keys(text: str) -> dict[str, str]:
    """``kid1:secret1,kid2:secret2`` (whitespace around items ignored)."""
    keys: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        kid, sep, secret = item.partition(":")
        if not sep or not kid or not secret:
            raise ValueError("AUTH_KEYS must be kid:secret pairs separated by commas")
        if kid in keys:
            raise ValueError(f"AUTH_KEYS names key {kid!r} twice")
        keys[kid] = secret
    return keys


def read_keys_file(path: str) -> dict[str, str]:
    """A JSON object of ``{"kid": "secret"}`` from ``path``."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"AUTH_KEYS_FILE {path}: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f'AUTH_KEYS_FILE {path}: expected a JSON object {{"kid": "secret", ...}}')
    return {str(k): v for k, v in data.items()}


def load_keyring(
    secret: str | None = None,
    keys: str | None = None,
    keys_file: str | None = None,
    signing_kid: str | None = None,
) -> KeyRing:
    """The key ring of these settings' values; ``ValueError`` naming what is wrong."""
    merged: dict[str, str] = {}
    sources = [parse_keys(keys) if keys else {}, read_keys_file(keys_file) if keys_file else {}]
    if secret:
        sources.append({DEFAULT_KID: secret})
    for source in sources:
        for kid, value in source.items():
            if kid in merged and merged[kid] != value:
                raise ValueError(f"key {kid!r} is configured twice with different secrets")
            merged[kid] = value
    if not merged:
        raise ValueError("AUTH_SECRET is required, or AUTH_KEYS / AUTH_KEYS_FILE")
    ring = {kid: value.encode() for kid, value in merged.items()}
    return KeyRing(ring, signing_kid or next(iter(ring)))
