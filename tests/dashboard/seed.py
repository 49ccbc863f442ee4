"""What the dashboard tests seed beside the analytics main data set, and their clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from tests.analytics.support import BASE, HOURS

CLOCK = BASE + timedelta(hours=HOURS)
"""The app's now: the end of the main data set, so its last 24 hours hold data."""


@dataclass(frozen=True, slots=True)
class Extra:
    """A vehicle known only by its status row (no history)."""

    vehicle_id: str
    soc: float
    kwh: Decimal
    silent_s: int  # seconds since it was last heard from, at CLOCK


EXTRA = tuple(
    Extra(f"dv-{i:02d}", soc=float((i * 37) % 97) + 0.5, kwh=Decimal(i % 3), silent_s=(i * 97) % 1500 + 1)
    for i in range(1, 31)
)
"""30 vehicles: SoC and silence scattered (some charging, idle, stale and offline)."""
