"""The ``simulate`` command line; the simulator itself loads only when the command runs."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``simulate`` command."""
    p = sub.add_parser(
        "simulate",
        help="post a realistic simulated fleet to the gateway",
        description="N meters and N vehicles (meter i feeds vehicle i) over a simulated span that ends "
        "now, compressed in time: charging sessions with DC 0.88-0.95 of AC, idle periods, a share of "
        "faulty chargers below 0.85, occasional duplicate and late readings. Deterministic with --seed. "
        "Reads GATEWAY_URL, INGEST_TOKEN, ANALYTICS_URL and ADMIN_TOKEN from the environment.",
    )
    p.add_argument("--devices", type=int, default=100, help="meters and vehicles each (default: %(default)s)")
    p.add_argument("--minutes", type=int, default=60, help="simulated span (default: %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="(default: %(default)s)")
    p.add_argument(
        "--batch-size", type=int, default=500, help="readings per request; 1 = single (default: %(default)s)"
    )
    p.add_argument("--concurrency", type=int, default=8, help="requests in flight (default: %(default)s)")
    p.add_argument("--rate", type=float, help="target readings/s (default: flat out)")
    p.add_argument("--faulty-share", type=float, default=0.1, help="(default: %(default)s)")
    p.add_argument("--duplicate-share", type=float, default=0.01, help="(default: %(default)s)")
    p.add_argument("--late-share", type=float, default=0.01, help="(default: %(default)s)")
    p.add_argument("--prefix", default="sim", help="device id prefix (default: %(default)s)")
    p.add_argument("--no-mapping", action="store_true", help="do not map meters to vehicles first")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from simulator.run import main

    return main(args)
