"""Typed errors of the shared schemas."""

from __future__ import annotations


class TimestampRuleError(ValueError):
    """A timestamp breaks one of the time rules (``schemas.timerules``).

    Carried as the ``ctx["error"]`` of a pydantic ``value_error``, so that a consumer can
    file the reading under its rule (``rule``: ``future``, ``floor``, ``max_past_age`` or
    ``retention``) while the message stays the one a field validator would give.
    """

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
