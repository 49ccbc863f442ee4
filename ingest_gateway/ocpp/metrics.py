"""Prometheus metrics of the OCPP door."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CONNECTIONS = Counter(
    "gateway_ocpp_connections_total",
    "OCPP handshakes by subprotocol and outcome (accepted, or the refusal's code)",
    ["subprotocol", "outcome"],
)
CONNECTED = Gauge("gateway_ocpp_connected", "Charge points connected now")
DISCONNECTS = Counter("gateway_ocpp_disconnects_total", "Ended OCPP connections by reason", ["reason"])
MESSAGES = Counter(
    "gateway_ocpp_messages_total",
    "CALLs from charge points by version, action and result (CALLRESULT or CALLERROR)",
    ["version", "action", "result"],
)
CALL_ERRORS = Counter(
    "gateway_ocpp_call_errors_total", "CALLERRORs sent by version and error code", ["version", "code"]
)
UNKNOWN_TRANSACTIONS = Counter(
    "gateway_ocpp_unknown_transactions_total",
    "Transaction steps whose connector this process did not know (nothing published for them)",
    ["version"],
)
