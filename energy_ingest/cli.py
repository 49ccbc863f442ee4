"""``energy-ingest``: run each service and each set-up step of the engine."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime

from common.tokens import DEFAULT_TTL_S, DEVICE_SCOPES, Scope, issue
from energy_ingest.lifeline import bind_to_parent

Handler = Callable[[argparse.Namespace], int]


def _need_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(
            f"energy-ingest: {name} is not set. Run `make run` once, then `set -a; . .devstack/env; set +a`, "
            f"or export {name} yourself."
        )
    return value


def _dev(args: argparse.Namespace) -> int:
    from energy_ingest.devrun import DevOptions, run_dev

    return run_dev(
        DevOptions(
            data_dir=args.dir,
            consumers=args.consumers,
            kafka_port=args.kafka_port,
            kafka_brokers=args.kafka_brokers,
            pg_port=args.pg_port,
            pg_replica=args.pg_replica,
            gateway_port=args.gateway_port,
            analytics_port=args.analytics_port,
            partitions=args.partitions,
            metrics_port=args.metrics_port,
            prometheus_port=args.prometheus_port,
        )
    )


def _gateway(args: argparse.Namespace) -> int:
    from ingest_gateway.main import run
    from ingest_gateway.settings import GatewaySettings

    run(GatewaySettings(), workers=args.workers)
    return 0


def _consumer(args: argparse.Namespace) -> int:
    from consumer.main import main

    return main()


def _retention(args: argparse.Namespace) -> int:
    from consumer.retention_job import main

    return main(["--once"] if args.once else [])


def _analytics(args: argparse.Namespace) -> int:
    from analytics_api.main import run
    from analytics_api.settings import AnalyticsSettings

    run(AnalyticsSettings(), workers=args.workers)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from common.logs import configure
    from energy_ingest.migrate import migrate

    configure("migrate")
    applied = migrate(args.database_url or _need_env("DATABASE_URL"))
    print(f"applied {len(applied)} migration(s)" + "".join(f"\n  {m.version:04d}_{m.name}" for m in applied))
    return 0


def _topics(args: argparse.Namespace) -> int:
    from common.kafka import KafkaAccess
    from energy_ingest.kafka_acls import grant, service_acls
    from energy_ingest.topics import create_topics

    env = dict(os.environ)
    if args.bootstrap:
        env["KAFKA_BOOTSTRAP_SERVERS"] = args.bootstrap
    admin = KafkaAccess.admin_from(env)
    created = asyncio.run(create_topics(admin, args.partitions, args.replication))
    print(f"created {', '.join(created)}" if created else "topics already exist")
    if admin.security_protocol != "PLAINTEXT":
        gateway, consumer = (
            env.get("GATEWAY_KAFKA_USERNAME", "gateway"),
            env.get("CONSUMER_KAFKA_USERNAME", "consumer"),
        )
        group = env.get("CONSUMER_GROUP", "energy-ingest")
        asyncio.run(grant(admin, service_acls(gateway, consumer, group)))
        print(f"granted ACLs: {gateway} produces, {consumer} consumes (groups {group}*)")
    return 0


def _token(args: argparse.Namespace) -> int:
    from common.keys import load_keyring

    scope = Scope(args.scope)
    if scope in DEVICE_SCOPES and not args.subject:
        sys.exit(f"energy-ingest token {scope}: give the id, e.g. `energy-ingest token {scope} m-123`")
    env = os.environ
    if not (env.get("AUTH_SECRET") or env.get("AUTH_KEYS") or env.get("AUTH_KEYS_FILE")):
        _need_env("AUTH_KEYS")
    try:
        names = ("AUTH_SECRET", "AUTH_KEYS", "AUTH_KEYS_FILE", "AUTH_SIGNING_KID")
        keys = load_keyring(*(env.get(name) for name in names))
        print(issue(keys, scope, args.subject or "default", ttl_s=args.ttl, kid=args.kid))
    except ValueError as exc:
        sys.exit(f"energy-ingest token: {exc}")
    return 0


def _create_login(args: argparse.Namespace) -> int:
    import secrets

    from energy_ingest.logins import ServiceRole, ensure_login

    password = args.password or secrets.token_urlsafe(24)
    url = ensure_login(
        args.database_url or _need_env("DATABASE_URL"), args.name, password, ServiceRole(args.role)
    )
    print(url)
    return 0


def _map_meter(args: argparse.Namespace) -> int:
    from analytics_api.mapping import MappingError, set_mapping_sync

    url = args.database_url or os.environ.get("MAPPING_DATABASE_URL") or _need_env("DATABASE_URL")
    try:
        result = set_mapping_sync(url, args.meter, args.vehicle, args.valid_from)
    except MappingError as exc:
        print(f"energy-ingest map-meter: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    return 0


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset (e.g. 2023-10-27T10:00:00Z)")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    p = argparse.ArgumentParser(
        prog="energy-ingest",
        description="Energy telemetry ingestion engine: gateway → Kafka → consumers → PostgreSQL → API.",
        epilog="Services read their settings from the environment; `make run` writes them to .devstack/env.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dev = sub.add_parser(
        "dev",
        help="set up and run the whole stack locally (what `make run` does)",
        description="Start a local Kafka and PostgreSQL (no Docker), migrate, create topics and logins, "
        "write .devstack/env, then run the gateway, N consumers and the analytics API until Ctrl-C.",
    )
    dev.add_argument("--dir", default=".devstack", help="data folder (default: %(default)s)")
    dev.add_argument("--consumers", type=int, default=1, help="consumer replicas (default: %(default)s)")
    dev.add_argument("--kafka-port", type=int, default=9092, help="(default: %(default)s)")
    dev.add_argument(
        "--kafka-brokers",
        type=int,
        choices=(1, 3),
        default=1,
        help="1, or 3 for a KRaft cluster of three nodes on --kafka-port, +2, +4 (controllers on +1, +3, "
        "+5), topics with 3 replicas and min.insync.replicas=2 (default: %(default)s)",
    )
    dev.add_argument("--pg-port", type=int, default=55432, help="(default: %(default)s)")
    dev.add_argument(
        "--pg-replica",
        action="store_true",
        help="also run a streaming hot standby on --pg-port + 1 and point the analytics API's reads at it "
        "(the primary stays the fallback and takes mapping writes)",
    )
    dev.add_argument("--gateway-port", type=int, default=3000, help="(default: %(default)s)")
    dev.add_argument("--analytics-port", type=int, default=3001, help="(default: %(default)s)")
    dev.add_argument("--partitions", type=int, default=12, help="partitions per topic (default: %(default)s)")
    dev.add_argument(
        "--metrics-port", type=int, default=9101, help="first consumer's metrics port (default: %(default)s)"
    )
    dev.add_argument(
        "--prometheus-port",
        type=int,
        default=9190,
        help="the stack's Prometheus (default: %(default)s; Debian's own service takes 9090)",
    )
    dev.set_defaults(func=_dev)

    gw = sub.add_parser(
        "gateway",
        help="run the ingest gateway (HTTP → Kafka)",
        description="Serve POST /v1/ingest. Settings from the environment: KAFKA_BOOTSTRAP_SERVERS, "
        "KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, GATEWAY_KAFKA_USERNAME / GATEWAY_KAFKA_PASSWORD, "
        "AUTH_KEYS / AUTH_KEYS_FILE / AUTH_SECRET (or AUTH_DISABLED=true), "
        "GATEWAY_HOST, GATEWAY_PORT, MAX_BODY_BYTES, MAX_RECORDS, "
        "PRODUCE_DEADLINE_S, RETRY_AFTER_S, RATE_PER_DEVICE, BURST_PER_DEVICE, "
        "time rules MAX_FUTURE_SKEW_S, TIMESTAMP_FLOOR, MAX_PAST_AGE_S, RETENTION_DAYS, "
        "MAX_IN_FLIGHT_RECORDS, KAFKA_LINGER_MS, KAFKA_MAX_BATCH_BYTES, KAFKA_COMPRESSION.",
    )
    gw.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default: %(default)s)")
    gw.set_defaults(func=_gateway)

    co = sub.add_parser(
        "consumer",
        help="run one consumer worker (Kafka → PostgreSQL); start it N times to scale",
        description="Join the consumer group and store batches effectively-once. Settings from the "
        "environment: CONSUMER_DATABASE_URL (or DATABASE_URL), KAFKA_BOOTSTRAP_SERVERS, "
        "KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, CONSUMER_KAFKA_USERNAME / CONSUMER_KAFKA_PASSWORD, "
        "CONSUMER_GROUP, CONSUMER_INSTANCE_ID, BATCH_MAX_RECORDS, BATCH_MAX_WAIT_MS, BATCH_QUIET_MS, "
        "REJECT_MAX_RATIO, REJECT_WINDOW, "
        "time rules MAX_FUTURE_SKEW_S, TIMESTAMP_FLOOR, MAX_PAST_AGE_S, RETENTION_DAYS (the gateway's), "
        "PARTITION_DAY_MONTHS, CONSUMER_METRICS_PORT, CONSUMER_METRICS_HOST, "
        "CONSUMER_DB_STATEMENT_TIMEOUT_MS, CONSUMER_DB_IDLE_TX_TIMEOUT_MS. "
        "Exits 3 when halted (reject flood, fatal database error).",
    )
    co.set_defaults(func=_consumer)

    rt = sub.add_parser(
        "retention",
        help="drop history days older than RETENTION_DAYS, compact closed days' rollups and store "
        "the fleet's answers, under the retention login",
        description="Settings from the environment: RETENTION_DATABASE_URL (a member of "
        "energy_retention, the only role that may drop partitions and compact rollups), RETENTION_DAYS, "
        "RETENTION_CHECK_S, COMPACT_LOOKBACK_DAYS (closed days whose hourly rollups are rewritten in "
        "hour order, once each; 0 = off), COMPACT_GRACE_S (after a day ends, before compacting it). "
        "Stored fleet answers (README, Operating it): FLEET_ANSWER_READ_URL or ANALYTICS_DATABASE_URL "
        "(a reader to rank through; unset = off), FLEET_ANSWER_DAYS (7; 0 = off), FLEET_ANSWER_LENGTHS_H "
        "(24,25,168,169), FLEET_ANSWER_GRACE_S (3600), FLEET_ANSWER_BUDGET_S (60 s of ranking per check), "
        "LOW_EFFICIENCY_THRESHOLD (the analytics API's, 0.85). "
        "Runs until stopped, dropping once per new horizon; exits 3 when halted.",
    )
    rt.add_argument(
        "--once", action="store_true", help="drop, compact and store the fleet answers due now, and exit"
    )
    rt.set_defaults(func=_retention)

    an = sub.add_parser(
        "analytics",
        help="run the analytics API (PostgreSQL, read-only)",
        description="Serve /v1/analytics, status, mappings and telemetry. Settings from the environment: "
        "ANALYTICS_DATABASE_URL, MAPPING_DATABASE_URL, AUTH_KEYS / AUTH_KEYS_FILE / AUTH_SECRET, "
        "ANALYTICS_HOST, ANALYTICS_PORT, ANALYTICS_MAX_BODY_BYTES.",
    )
    an.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default: %(default)s)")
    an.set_defaults(func=_analytics)

    mi = sub.add_parser(
        "migrate",
        help="apply the SQL migrations (idempotent)",
        description="Apply sql/migrations/*.sql that are not yet recorded in schema_migrations.",
    )
    mi.add_argument("--database-url", help="owner's URL (default: $DATABASE_URL)")
    mi.set_defaults(func=_migrate)

    to = sub.add_parser(
        "topics",
        help="create the Kafka topics and the services' ACLs (idempotent)",
        description="Create telemetry.meter.v1 and telemetry.vehicle.v1 if missing, as the admin "
        "principal ($KAFKA_ADMIN_USERNAME/$KAFKA_ADMIN_PASSWORD when $KAFKA_SECURITY_PROTOCOL is "
        "SASL_PLAINTEXT); with SASL, also let $GATEWAY_KAFKA_USERNAME (default gateway) produce to "
        "them and $CONSUMER_KAFKA_USERNAME (default consumer) consume them in groups prefixed "
        "$CONSUMER_GROUP (default energy-ingest).",
    )
    to.add_argument("--bootstrap", help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP_SERVERS)")
    to.add_argument("--partitions", type=int, default=12, help="(default: %(default)s)")
    to.add_argument(
        "--replication",
        type=int,
        default=None,
        help="replicas per partition (default: 3 on a cluster of three brokers or more, else 1; "
        "min.insync.replicas is 2 from three replicas on)",
    )
    to.set_defaults(func=_topics)

    ttls = ", ".join(f"{s.value} {DEFAULT_TTL_S[s] // 3600} h" for s in Scope)
    tk = sub.add_parser(
        "token",
        help="issue a bearer token (needs $AUTH_KEYS, $AUTH_KEYS_FILE or $AUTH_SECRET)",
        description="meter ID / vehicle ID: may post only that device's readings of that kind; "
        "charger ID: an OCPP charge point; device ID: that id's readings of either kind (older "
        "scope); fleet: any device's; analyst: read analytics; admin: read analytics and write "
        f"mappings. Signed with $AUTH_SIGNING_KID (default: the first key) unless --kid. Default "
        f"lifetimes: {ttls}.",
    )
    tk.add_argument("scope", choices=[s.value for s in Scope])
    tk.add_argument("subject", nargs="?", help="device id (device scopes) or a name for the holder")
    tk.add_argument("--ttl", type=int, metavar="SECONDS", help="lifetime (default: the scope's)")
    tk.add_argument("--kid", help="sign with this key id (default: $AUTH_SIGNING_KID or the first key)")
    tk.set_defaults(func=_token)

    cl = sub.add_parser(
        "create-login",
        help="create a database login in one least-privilege role",
        description="writer: consumers; reader: analytics API; mapper: mapping writes; retention: "
        "`energy-ingest retention` (drops old history). Prints its URL.",
    )
    cl.add_argument("name")
    cl.add_argument(
        "--role",
        required=True,
        choices=["energy_writer", "energy_reader", "energy_mapper", "energy_retention"],
    )
    cl.add_argument("--password", help="default: a random one")
    cl.add_argument("--database-url", help="an admin URL (default: $DATABASE_URL)")
    cl.set_defaults(func=_create_login)

    mm = sub.add_parser(
        "map-meter",
        help="map a meter to a vehicle from a point in time",
        description="Close the meter's current mapping and open a new one. Without --from, a first "
        "mapping covers all time and a re-mapping starts now.",
    )
    mm.add_argument("meter")
    mm.add_argument("vehicle")
    mm.add_argument("--from", dest="valid_from", type=_aware, help="RFC 3339 time with offset")
    mm.add_argument("--database-url", help="default: $MAPPING_DATABASE_URL or $DATABASE_URL")
    mm.set_defaults(func=_map_meter)

    from simulator.cli import add_parser as add_simulate

    add_simulate(sub)

    from bench.run import add_parser as add_bench

    add_bench(sub)

    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point."""
    bind_to_parent()
    args = build_parser().parse_args(argv)
    handler: Handler = args.func
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
