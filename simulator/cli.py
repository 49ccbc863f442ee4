"""The ``simulate`` command line; the simulator itself loads only when the command runs."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``simulate`` command."""
    p = sub.add_parser(
        "simulate",
        help="post a realistic simulated fleet to the gateway (HTTP meters, or OCPP charge points)",
        description="--protocol http (default): N meters and N vehicles (meter i feeds vehicle i) over a "
        "simulated span that ends now, compressed in time: charging sessions with DC 0.88-0.95 of AC, idle "
        "periods, a share of faulty chargers below 0.85, occasional duplicate and late readings. "
        "--protocol ocpp16|ocpp201: N charge points cp-PREFIX-NNNNN connect to ws://GATEWAY/ocpp/ID "
        "(HTTP Basic: the id and a charger token issued from AUTH_SECRET / AUTH_KEYS) through the ocpp "
        "library's client side: BootNotification, Heartbeat, StatusNotification, Authorize with card "
        "tag-PREFIX-NNNNN, then --sessions sessions of --samples MeterValues (TransactionEvent on 2.0.1) "
        "with a rising Energy.Active.Import.Register (Wh, kWh or, on 2.0.1, Wh x 10^3; some with Voltage, "
        "some per phase), occasional register resets, reconnects and duplicates, then StopTransaction "
        "(TransactionEvent Ended); vehicle v-PREFIX-cNNNNN posts its DC over HTTP, and each card is "
        "registered for its vehicle first (PUT /v1/idtags/ID) so the sessions map meters to vehicles. "
        "Deterministic with --seed. Reads GATEWAY_URL (or OCPP_URL), INGEST_TOKEN, ANALYTICS_URL, "
        "ADMIN_TOKEN and AUTH_SECRET / AUTH_KEYS from the environment (`. .devstack/env`).",
    )
    p.add_argument(
        "--protocol",
        choices=("http", "ocpp16", "ocpp201"),
        default="http",
        help="meters posting JSON over HTTP, or OCPP 1.6J / 2.0.1 charge points (default: %(default)s)",
    )
    p.add_argument(
        "--devices",
        type=int,
        default=100,
        help="meters (or charge points) and vehicles each (default: %(default)s)",
    )
    p.add_argument("--minutes", type=int, default=60, help="http: simulated span (default: %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="(default: %(default)s)")
    p.add_argument(
        "--batch-size", type=int, default=500, help="readings per request; 1 = single (default: %(default)s)"
    )
    p.add_argument("--concurrency", type=int, default=8, help="requests in flight (default: %(default)s)")
    p.add_argument("--rate", type=float, help="http: target readings/s (default: flat out)")
    p.add_argument("--faulty-share", type=float, default=0.1, help="http only (default: %(default)s)")
    p.add_argument(
        "--duplicate-share",
        type=float,
        default=0.01,
        help="http: of readings sent twice; ocpp: of sessions with one MeterValues sent twice "
        "(default: %(default)s)",
    )
    p.add_argument("--late-share", type=float, default=0.01, help="http only (default: %(default)s)")
    p.add_argument("--prefix", default="sim", help="device id prefix (default: %(default)s)")
    p.add_argument(
        "--no-mapping", action="store_true", help="do not map meters (register idTags, on OCPP) first"
    )
    ocpp = p.add_argument_group("OCPP charge points (--protocol ocpp16|ocpp201)")
    ocpp.add_argument(
        "--sessions", type=int, default=2, help="sessions per charge point (default: %(default)s)"
    )
    ocpp.add_argument(
        "--samples",
        type=int,
        default=12,
        help="MeterValues per session, 1 simulated minute apart (default: %(default)s)",
    )
    ocpp.add_argument(
        "--reset-share", type=float, default=0.2, help="sessions with a register reset (default: %(default)s)"
    )
    ocpp.add_argument(
        "--reconnect-share",
        type=float,
        default=0.3,
        help="sessions during which the charge point reconnects (default: %(default)s)",
    )
    ocpp.add_argument(
        "--pace",
        type=float,
        default=0.0,
        help="real seconds between a charge point's samples (default: as fast as answered)",
    )
    ocpp.add_argument(
        "--connect-rate", type=float, default=200.0, help="new connections per second (default: %(default)s)"
    )
    ocpp.add_argument(
        "--no-vehicles", action="store_true", help="charge points only: no vehicle DC over HTTP"
    )
    ocpp.add_argument(
        "--check",
        action="store_true",
        help="then check that every vehicle's sessions (GET /v1/vehicles/ID/sessions, $ANALYTICS_TOKEN) "
        "show the energy drawn and the DC posted; exit 1 if not",
    )
    ocpp.add_argument("--transcript", metavar="PATH", help="write the first charge point's frames to PATH")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.protocol != "http":
        from simulator.ocpp_run import main as ocpp_main

        return ocpp_main(args)
    from simulator.run import main

    return main(args)
