"""Progress lines of a bench run, stamped with the time since it started."""

from __future__ import annotations

import time

_STARTED = time.monotonic()


def say(text: str) -> None:
    """Print ``[bench +12.3s] text`` at once."""
    print(f"[bench +{time.monotonic() - _STARTED:6.1f}s] {text}", flush=True)


def rate(value: float | None) -> str:
    """``12,345/s``, or ``n/a``."""
    return "n/a" if value is None else f"{value:,.0f}/s"
