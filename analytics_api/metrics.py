"""Prometheus metrics of the analytics API."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("analytics_requests_total", "HTTP requests", ["route", "method", "status"])
LATENCY = Histogram(
    "analytics_request_seconds",
    "Time to answer a request",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DB_ERRORS = Counter("analytics_db_errors_total", "Database failures answered as 503", ["kind"])
OFFLINE = Gauge(
    "analytics_devices_offline",
    "Devices not heard from for OFFLINE_AFTER_S, counted when /metrics is scraped",
    ["kind"],
)
DEVICES = Gauge("analytics_devices", "Devices with a status row, counted when /metrics is scraped", ["kind"])
READ_FALLBACK = Gauge(
    "analytics_read_fallback", "1 while reads go to the primary because the standby is unavailable"
)
REPLICA_LAG = Gauge("analytics_replica_lag_seconds", "The standby's replay lag at its last check")
FLEET_ANSWERS = Counter(
    "analytics_fleet_answers_total",
    "Fleet answers computed, by source: a stored answer (answer_store) or the live ranking query",
    ["source"],
)
