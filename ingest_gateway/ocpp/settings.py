"""The OCPP door's knobs (part of :class:`~ingest_gateway.settings.GatewaySettings`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OcppSettings(BaseSettings):
    """Limits of the OCPP WebSocket endpoint. Environment names are given as aliases."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    ocpp_max_connections: int = Field(
        20_000,
        ge=1,
        validation_alias="OCPP_MAX_CONNECTIONS",
        description="charge points connected to one process; beyond: HTTP 503 at the handshake",
    )
    ocpp_max_frame_bytes: int = Field(
        64 * 1024,
        ge=1024,
        validation_alias="OCPP_MAX_FRAME_BYTES",
        description="largest WebSocket message; a larger one closes the connection (1009)",
    )
    ocpp_messages_per_s: float = Field(
        2.0, gt=0, validation_alias="OCPP_MESSAGES_PER_S", description="CALLs/s refill per connection"
    )
    ocpp_message_burst: int = Field(
        60, ge=1, validation_alias="OCPP_MESSAGE_BURST", description="CALLs a connection may send at once"
    )
    ocpp_heartbeat_interval_s: int = Field(
        300, ge=1, validation_alias="OCPP_HEARTBEAT_INTERVAL_S", description="told in BootNotification"
    )
    ocpp_idle_timeout_s: float = Field(
        900.0,
        gt=0,
        validation_alias="OCPP_IDLE_TIMEOUT_S",
        description="close a connection that sent no message for this long",
    )
    ocpp_ping_interval_s: float = Field(
        60.0, gt=0, validation_alias="OCPP_PING_INTERVAL_S", description="WebSocket ping every this often"
    )
    ocpp_ping_timeout_s: float = Field(
        30.0, gt=0, validation_alias="OCPP_PING_TIMEOUT_S", description="close when no pong within this"
    )
    ocpp_deflate: bool = Field(
        False,
        validation_alias="OCPP_DEFLATE",
        description="permessage-deflate (costs tens of KiB a connection; OCPP messages are small)",
    )

    def websocket_options(self) -> dict[str, Any]:
        """uvicorn's WebSocket options for these limits (its sans-I/O websockets protocol)."""
        from ingest_gateway.ocpp.wsprotocol import WebSocketProtocol

        return {
            "ws": WebSocketProtocol,
            "ws_max_size": self.ocpp_max_frame_bytes,
            "ws_ping_interval": self.ocpp_ping_interval_s,
            "ws_ping_timeout": self.ocpp_ping_timeout_s,
            "ws_per_message_deflate": self.ocpp_deflate,
        }
