"""The Prometheus of `energy-ingest dev`: started with the stack, told where each /metrics is."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from devstack import PrometheusServer


class DevPrometheus:
    """A :class:`PrometheusServer` in ``data_dir`` scraping the dev stack's services.

    The gateway and the analytics API are set once; the consumer replicas whenever they
    change, through :meth:`scrape_consumers`. Prometheus picks a change up by itself
    within a few seconds (file service discovery), without a restart.
    """

    def __init__(self, data_dir: Path, port: int) -> None:
        self.server = PrometheusServer(data_dir, port)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: PROMETHEUS_URL."""
        return self.server.url

    def start(self) -> None:
        """Start the server (stopping a leftover of an earlier run first)."""
        self.server.start()

    def scrape_services(self, gateway_url: str, analytics_url: str) -> None:
        """Scrape ``/metrics`` of the gateway and the analytics API at these base URLs."""
        self.server.set_targets("gateway", [urlsplit(gateway_url).netloc])
        self.server.set_targets("analytics", [urlsplit(analytics_url).netloc])

    def scrape_consumers(self, replicas: Mapping[str, int]) -> None:
        """Make ``replicas`` (name → CONSUMER_METRICS_PORT on 127.0.0.1) the consumer targets.

        Call it whenever a replica is added or removed for good. Keep a replica that
        crashed or halted listed: its failed scrape (``up == 0``) is what raises the
        ``ConsumerDown`` alert. Each target carries the label ``replica=<name>``.
        """
        targets = {f"127.0.0.1:{port}": {"replica": name} for name, port in replicas.items()}
        self.server.set_targets("consumer", list(targets), targets)

    def stop(self) -> None:
        """Stop the server (its data stays for the next run)."""
        self.server.stop()
