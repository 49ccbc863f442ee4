"""Tokens: key ids, expiry, rotation, malformed input, and the verifier's cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.keys import KeyRing, load_keyring
from common.tokens import (
    DEFAULT_TTL_S,
    ExpiredTokenError,
    InvalidTokenError,
    Scope,
    UnknownKeyError,
    issue,
    verify,
)
from common.verifier import TokenVerifier

OLD, NEW = "o" * 40, "n" * 40
NOW = 1_800_000_000.0


def test_a_token_names_its_key_and_expiry() -> None:
    ring = load_keyring(keys=f"k2:{NEW},k1:{OLD}")
    token = issue(ring, Scope.METER, "m-1", ttl_s=60, now=NOW)
    assert token.split(".")[:3] == ["ei2", "k2", "meter"]
    p = verify(ring, token, now=NOW + 59)
    assert (p.scope, p.subject, p.kid, p.expires_at) == (Scope.METER, "m-1", "k2", NOW + 60)


def test_expired_token_is_refused() -> None:
    token = issue(OLD, Scope.ANALYST, "ann", ttl_s=60, now=NOW)
    verify(OLD, token, now=NOW + 59.9)
    with pytest.raises(ExpiredTokenError, match="expired"):
        verify(OLD, token, now=NOW + 60)


def test_unknown_key_id_is_refused() -> None:
    token = issue(load_keyring(keys=f"gone:{OLD}"), Scope.FLEET, "agg")
    with pytest.raises(UnknownKeyError, match="unknown key id 'gone'"):
        verify(load_keyring(keys=f"k2:{NEW}"), token)


def test_rotation_old_key_valid_while_configured() -> None:
    old_token = issue(load_keyring(keys=f"k1:{OLD}"), Scope.FLEET, "agg")
    both = load_keyring(keys=f"k2:{NEW},k1:{OLD}")
    assert verify(both, old_token).kid == "k1"
    assert verify(both, issue(both, Scope.FLEET, "agg")).kid == "k2"  # the first key signs
    with pytest.raises(UnknownKeyError):
        verify(load_keyring(keys=f"k2:{NEW}"), old_token)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + "é",  # a non-ASCII signature character
        lambda t: t.replace(".meter.", ".méter."),
        lambda t: t + ".x",
        lambda t: t.rsplit(".", 1)[0],
        lambda t: t[:-2] + "!!",
        lambda t: t.replace("ei2.", "ei1.", 1),
        lambda t: "x" * 5000,
        lambda t: "",
    ],
)
def test_malformed_tokens_are_invalid_not_errors(mangle: object) -> None:
    assert callable(mangle)
    token = issue(OLD, Scope.METER, "m-1")
    with pytest.raises(InvalidTokenError):
        verify(OLD, mangle(token))


def test_default_lifetimes() -> None:
    assert DEFAULT_TTL_S[Scope.METER] == DEFAULT_TTL_S[Scope.VEHICLE] == 365 * 86400
    assert DEFAULT_TTL_S[Scope.ANALYST] == DEFAULT_TTL_S[Scope.ADMIN] == 8 * 3600
    p = verify(OLD, issue(OLD, Scope.ADMIN, "root", now=NOW), now=NOW)
    assert p.expires_at == NOW + 8 * 3600


def test_keys_from_file_secret_and_signing_kid(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"f1": NEW}))
    ring = load_keyring(secret=OLD, keys_file=str(path), signing_kid="default")
    assert list(ring.keys) == ["f1", "default"]
    assert ring.signing_kid == "default"
    with pytest.raises(ValueError, match="at least 32"):
        load_keyring(keys="k:short")
    with pytest.raises(ValueError, match="kid:secret"):
        load_keyring(keys="no-colon")
    with pytest.raises(ValueError, match="not among the keys"):
        KeyRing({"a": NEW.encode()}, "b")
    with pytest.raises(ValueError, match="AUTH_SECRET is required"):
        load_keyring()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def test_cache_never_outlives_the_token() -> None:
    clock = Clock()
    verifier = TokenVerifier(KeyRing.single(OLD), clock=clock, hold_s=60)
    token = issue(OLD, Scope.METER, "m-1", ttl_s=10, now=NOW)
    assert verifier(token).subject == "m-1"
    clock.now = NOW + 9
    assert verifier(token).subject == "m-1"  # cached
    clock.now = NOW + 10
    with pytest.raises(ExpiredTokenError):
        verifier(token)


def test_cache_is_bounded_and_holds_briefly() -> None:
    clock = Clock()
    verifier = TokenVerifier(KeyRing.single(OLD), clock=clock, size=2, hold_s=5)
    tokens = [issue(OLD, Scope.METER, f"m-{i}", now=NOW) for i in range(3)]
    for t in tokens:
        verifier(t)
    assert len(verifier._cache) == 2
    assert tokens[0] not in verifier._cache
    clock.now = NOW + 6
    verifier(tokens[2])
    assert verifier._cache[tokens[2]][1] == NOW + 11  # re-verified, held again for 5 s
