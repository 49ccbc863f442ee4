"""Derived figures shared by the performance and fleet views."""

from __future__ import annotations

from decimal import Decimal

SECONDS_PER_READING = 60.0
"""Devices report once a minute: the basis of ``dataCoverage``."""


def efficiency(dc_kwh: Decimal, ac_kwh: Decimal) -> float | None:
    """DC delivered / AC consumed; ``None`` when no AC energy was consumed."""
    return float(dc_kwh / ac_kwh) if ac_kwh > 0 else None


def is_low(ratio: float | None, threshold: float) -> bool | None:
    """Whether the ratio is below the threshold; ``None`` without a ratio."""
    return None if ratio is None else ratio < threshold


def coverage(received: int, expected_seconds: float) -> float | None:
    """Readings received / readings expected at one per minute; ``None`` if none expected."""
    expected = expected_seconds / SECONDS_PER_READING
    return received / expected if expected > 0 else None
