"""`energy-ingest dev`: the whole stack on one machine, in the foreground."""

from __future__ import annotations

import fcntl
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from devstack import DevstackError, Stack
from devstack.standby import PostgresStandby
from energy_ingest.devprom import DevPrometheus
from energy_ingest.procs import wait_http
from energy_ingest.provision import provision, write_env_file
from energy_ingest.supervisor import PortInUseError, Supervisor


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
    pg_replica: bool = False
    kafka_brokers: int = 1


def _say(text: str) -> None:
    print(f"[dev] {text}", flush=True)


def _lock_data_dir(data: Path) -> IO[str] | None:
    """Hold ``<dir>/dev.lock`` for this process's life (the kernel drops it when we die).

    A second `energy-ingest dev` on the same folder would take the first one's running
    services for leftovers and stop them; it is refused instead, in one line."""
    data.mkdir(parents=True, exist_ok=True)
    handle = (data / "dev.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        _say(f"another `energy-ingest dev` (pid {holder}) is running on {data}; stop it first, or pass --dir")
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def read_from_standby(env: dict[str, str], primary_port: int, standby_port: int) -> dict[str, str]:
    """The analytics API's reads on the standby, with the primary's reader as the fallback."""
    reader = env["ANALYTICS_DATABASE_URL"]
    return {
        "ANALYTICS_PRIMARY_DATABASE_URL": reader,
        "ANALYTICS_DATABASE_URL": reader.replace(f":{primary_port}/", f":{standby_port}/", 1),
    }


def other_kafka_layout(data: Path, brokers: int) -> str | None:
    """Why ``data`` cannot run with ``brokers`` Kafka brokers, if it was made with the other
    number: its PostgreSQL holds the consumers' offsets into that other Kafka's topics."""
    other, was = (data / "kafka-cluster", 3) if brokers == 1 else (data / "kafka", 1)
    if not other.exists():
        return None
    return (
        f"{data} was set up with KAFKA_BROKERS={was}, and its database holds offsets into that "
        f"Kafka's topics: use another --dir for KAFKA_BROKERS={brokers}, or remove {data}"
    )


def _supervisor(opts: DevOptions, run_dir: Path) -> Supervisor:
    """The services of the stack, with the ports each will listen on (env comes later)."""
    sup = Supervisor(run_dir, say=_say)
    sup.add("gateway", ["gateway"], {}, ((opts.gateway_port, "stop it or pass --gateway-port"),))
    for i in range(opts.consumers):
        port = opts.metrics_port + i
        sup.add(
            f"consumer-{i + 1}", ["consumer"], {}, ((port, "stop it or pass --metrics-port"),), can_halt=True
        )
    # Drops history older than RETENTION_DAYS (idle when unset) under its own login.
    sup.add("retention", ["retention"], {})
    sup.add("analytics", ["analytics"], {}, ((opts.analytics_port, "stop it or pass --analytics-port"),))
    return sup


def run_dev(opts: DevOptions) -> int:
    """Start everything, print how to use it, and supervise the services until Ctrl-C.

    A crashed service is restarted with back-off; a deliberate halt (exit 3) stays down
    and is reported; Kafka, PostgreSQL and Prometheus keep running throughout. Services
    die with this process even when it is SIGKILLed, and a later run stops whatever an
    earlier, killed run left behind (pid files in ``<dir>/run``).
    """
    data = Path(opts.data_dir).resolve()
    started = time.monotonic()
    lock = _lock_data_dir(data)
    if lock is None:
        return 1
    mismatch = other_kafka_layout(data, opts.kafka_brokers)
    if mismatch:
        _say(mismatch)
        return 1
    stack = Stack(
        data_dir=data,
        kafka_port=opts.kafka_port,
        kafka_controller_port=opts.kafka_port + 1,
        pg_port=opts.pg_port,
        pg_replication=opts.pg_replica,
        kafka_brokers=opts.kafka_brokers,
    )
    standby = (
        PostgresStandby(stack.postgres, data / "postgres-standby", opts.pg_port + 1)
        if opts.pg_replica
        else None
    )
    prometheus = DevPrometheus(data / "prometheus", opts.prometheus_port)
    supervisor = _supervisor(opts, data / "run")
    supervisor.reap_leftovers()
    try:
        # Kafka, PostgreSQL and Prometheus check their own ports after stopping leftovers.
        supervisor.check_ports()
    except PortInUseError as exc:
        _say(str(exc))
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    code = 0
    try:
        stack.start()
        if standby is not None:
            standby.start()
        prometheus.start()
        env = provision(stack.database_url, stack.kafka_env(), data / "secrets.json", opts.partitions)
        if standby is not None:
            env |= read_from_standby(env, opts.pg_port, standby.port)
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
        for service in supervisor.services:
            service.env = env | (
                {"CONSUMER_INSTANCE_ID": service.name, "CONSUMER_METRICS_PORT": str(replicas[service.name])}
                if service.name in replicas
                else {}
            )
        supervisor.start()
        gateway, analytics = supervisor.services[0], supervisor.services[-1]
        wait_http(f"{env['GATEWAY_URL']}/readyz", 60, gateway.process)
        wait_http(f"{env['ANALYTICS_URL']}/healthz", 60, analytics.process)
        _banner(env, data, time.monotonic() - started)
        while not stop.is_set():
            supervisor.poll()
            stop.wait(0.25)
    except (DevstackError, PortInUseError) as exc:
        _say(str(exc))
        code = 1
    except Exception as exc:
        print(f"[dev] start-up failed: {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        _say("stopping services")
        supervisor.stop()
        _say("stopping Prometheus, Kafka and PostgreSQL")
        prometheus.stop()
        if standby is not None:
            standby.stop()
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
    _say("crashed services are restarted; Ctrl-C stops everything")
