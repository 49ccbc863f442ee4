"""Token verification for the hot path: an LRU of recently verified tokens.

A device posts with the same token every minute, so a verified token is remembered
(keyed by the token string) for a short while, and never beyond its own expiry. Only
tokens that verified are kept, so invalid tokens cannot push good ones out.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from common.keys import KeyRing
from common.tokens import Principal, verify

CACHE_SIZE = 10_000
CACHE_HOLD_S = 60.0


class TokenVerifier:
    """``verifier(token)`` is ``verify(keys, token)``, memoised for ``hold_s`` at most."""

    def __init__(
        self,
        keys: KeyRing,
        *,
        clock: Callable[[], float] = time.time,
        size: int = CACHE_SIZE,
        hold_s: float = CACHE_HOLD_S,
    ) -> None:
        self.keys = keys
        self._clock = clock
        self._size = size
        self._hold_s = hold_s
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, token: str) -> Principal:
        now = self._clock()
        with self._lock:
            hit = self._cache.get(token)
            if hit is not None:
                if now < hit[1]:
                    self._cache.move_to_end(token)
                    return hit[0]
                del self._cache[token]
        principal = verify(self.keys, token, now=now)
        until = min(now + self._hold_s, float(principal.expires_at))
        with self._lock:
            self._cache[token] = (principal, until)
            self._cache.move_to_end(token)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return principal
