"""The OCPP door's own errors (errors of a CALL are ``ocpp.exceptions`` CALLERRORs)."""

from __future__ import annotations

from ocpp.exceptions import OCPPError


class OcppDoorError(Exception):
    """Base of the OCPP door's errors."""


class HandshakeRefused(OcppDoorError):
    """The WebSocket handshake is answered with an HTTP error instead of an upgrade."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class ConnectionEnded(OcppDoorError):
    """The charge point's connection is over (closed by either side, idle, replaced)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


class RpcFrameworkError(OCPPError):  # type: ignore[misc]  # ocpp is untyped
    """2.0.1: the frame is not a valid RPC request (not JSON, not an array, no readable id)."""

    code = "RpcFrameworkError"
    default_description = "Content of the call is not a valid RPC request"
