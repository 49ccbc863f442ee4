"""`energy-ingest dev`: the whole stack on one machine, in the foreground."""

from __future__ import annotations

import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from devstack import Stack
from energy_ingest.devprom import DevPrometheus
from energy_ingest.procs import ServiceProcess, wait_http
from energy_ingest.provision import provision, write_env_file


@dataclass(frozen=True, slots=True)
class DevOptions:
    data_dir: str
    consumers: int
    kafka_port: int
    pg_port: int
    gateway_port: int
    analytics_port: int
    partitions: int
    metrics_port: int
    prometheus_port: int = 9190


def _say(text: str) -> None:
    print(f"[dev] {text}", flush=True)


def run_dev(opts: DevOptions) -> int:
    """Start everything, print how to use it, and wait for Ctrl-C."""
    data = Path(opts.data_dir).resolve()
    started = time.monotonic()
    stack = Stack(
        data_dir=data,
        kafka_port=opts.kafka_port,
        kafka_controller_port=opts.kafka_port + 1,
        pg_port=opts.pg_port,
    )
    prometheus = DevPrometheus(data / "prometheus", opts.prometheus_port)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    services: list[ServiceProcess] = []
    code = 0
    try:
        stack.start()
        prometheus.start()
        env = provision(stack.database_url, stack.kafka_env(), data / "secrets.json", opts.partitions)
        env |= {
            "GATEWAY_PORT": str(opts.gateway_port),
            "ANALYTICS_PORT": str(opts.analytics_port),
            "GATEWAY_URL": f"http://127.0.0.1:{opts.gateway_port}",
            "ANALYTICS_URL": f"http://127.0.0.1:{opts.analytics_port}",
            "CONSUMER_METRICS_PORT_BASE": str(opts.metrics_port),
            "PROMETHEUS_URL": prometheus.url,
        }
        prometheus.scrape_services(env["GATEWAY_URL"], env["ANALYTICS_URL"])
        replicas = {f"consumer-{i + 1}": opts.metrics_port + i for i in range(opts.consumers)}
        prometheus.scrape_consumers(replicas)  # again whenever replicas come or go
        write_env_file(data / "env", env)
        services.append(ServiceProcess("gateway", ["gateway"], env).start())
        for i in range(opts.consumers):
            name = f"consumer-{i + 1}"
            replica = {"CONSUMER_INSTANCE_ID": name, "CONSUMER_METRICS_PORT": str(opts.metrics_port + i)}
            services.append(ServiceProcess(name, ["consumer"], env | replica).start())
        # Drops history older than RETENTION_DAYS (idle when unset) under its own login.
        services.append(ServiceProcess("retention", ["retention"], env).start())
        services.append(ServiceProcess("analytics", ["analytics"], env).start())
        wait_http(f"{env['GATEWAY_URL']}/readyz", 60, services[0])
        wait_http(f"{env['ANALYTICS_URL']}/healthz", 60, services[-1])
        _banner(env, data, time.monotonic() - started)
        while not stop.is_set():
            dead = [s for s in services if not s.alive()]
            if dead:
                _say(f"{dead[0].name} exited with {dead[0].returncode()}; stopping everything")
                code = 1
                break
            stop.wait(0.5)
    except Exception as exc:
        print(f"[dev] start-up failed: {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        _say("stopping services")
        for s in reversed(services):
            s.stop()
        _say("stopping Prometheus, Kafka and PostgreSQL")
        prometheus.stop()
        stack.stop()
        _say("stopped")
    return code


def _banner(env: dict[str, str], data: Path, seconds: float) -> None:
    _say(f"stack ready in {seconds:.1f} s")
    _say(f"gateway    {env['GATEWAY_URL']}   (OpenAPI: {env['GATEWAY_URL']}/docs)")
    _say(f"analytics  {env['ANALYTICS_URL']}   (OpenAPI: {env['ANALYTICS_URL']}/docs)")
    _say(f"environment written to {data / 'env'}; in another shell: set -a; . {data / 'env'}; set +a")
    _say(f"prometheus {env['PROMETHEUS_URL']}   (alerts: {env['PROMETHEUS_URL']}/alerts)")
    _say(f"consumer metrics from http://127.0.0.1:{env['CONSUMER_METRICS_PORT_BASE']}/metrics upwards")
    _say(f"fleet token (INGEST_TOKEN): {env['INGEST_TOKEN']}")
    _say("Ctrl-C stops everything")
