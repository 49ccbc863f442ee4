"""Errors raised by devstack: a missing tool versus a service that failed to come up."""

from __future__ import annotations


class DevstackError(Exception):
    """Base class of every devstack error."""


class MissingToolError(DevstackError):
    """A program the stack needs (Java, Maven, PostgreSQL) is not installed.

    The message names the command that installs it.
    """

    def __init__(self, tool: str, install_hint: str) -> None:
        super().__init__(f"{tool} not found: install it with `{install_hint}`")
        self.tool = tool
        self.install_hint = install_hint


class ServiceStartError(DevstackError):
    """A service exited or did not become ready in time; carries the tail of its log."""

    def __init__(self, service: str, reason: str, log_tail: str = "") -> None:
        message = f"{service} failed to start: {reason}"
        if log_tail:
            message += f"\n--- last lines of the {service} log ---\n{log_tail}"
        super().__init__(message)
        self.service = service
        self.reason = reason
        self.log_tail = log_tail
