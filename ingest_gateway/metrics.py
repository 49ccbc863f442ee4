"""Prometheus metrics of the gateway."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("gateway_requests_total", "HTTP requests", ["route", "status"])
READINGS = Counter("gateway_readings_accepted_total", "Readings acknowledged by Kafka", ["type"])
PRODUCE_SECONDS = Histogram(
    "gateway_produce_seconds",
    "From the first send to Kafka's acknowledgement of a request's last record",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
IN_FLIGHT = Gauge("gateway_in_flight_records", "Records sent and not yet acknowledged")


class Children:
    """A labelled metric's children, looked up once per label values (``labels()`` takes a
    lock and builds a key every call: a few microseconds per request on the hot path)."""

    def __init__(self, metric: Any) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        """``metric.labels(*values)``, remembered."""
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child


REQUESTS_BY = Children(REQUESTS)
READINGS_BY = Children(READINGS)
