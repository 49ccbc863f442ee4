"""`energy-ingest simulate`: generate a fleet and post it to the gateway."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import httpx

from energy_ingest.sim.fleet import FleetSpec, encode_batches
from energy_ingest.sim.poster import PostSummary, post_all


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
    p.set_defaults(func=main)


async def map_meters(spec: FleetSpec, analytics_url: str, admin_token: str) -> None:
    """PUT meter i → vehicle i for the whole fleet."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    sem = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=analytics_url, headers=headers, timeout=30) as client:

        async def one(i: int) -> None:
            async with sem:
                r = await client.put(
                    f"/v1/mappings/meters/{spec.meter_id(i)}", json={"vehicleId": spec.vehicle_id(i)}
                )
                if r.status_code >= 300:
                    raise RuntimeError(f"mapping {spec.meter_id(i)} failed: {r.status_code} {r.text}")

        await asyncio.gather(*(one(i) for i in range(spec.devices)))


def main(args: argparse.Namespace) -> int:
    """Run the simulation and print its summary."""
    gateway = os.environ.get("GATEWAY_URL", "http://127.0.0.1:3000")
    spec = FleetSpec(
        devices=args.devices,
        minutes=args.minutes,
        seed=args.seed,
        faulty_share=args.faulty_share,
        duplicate_share=args.duplicate_share,
        late_share=args.late_share,
        prefix=args.prefix,
    )
    if not args.no_mapping:
        analytics, admin = os.environ.get("ANALYTICS_URL"), os.environ.get("ADMIN_TOKEN")
        if not (analytics and admin):
            sys.exit(
                "simulate: ANALYTICS_URL and ADMIN_TOKEN are needed to map meters (or pass --no-mapping)"
            )
        asyncio.run(map_meters(spec, analytics, admin))
    approx_total = int(spec.devices * 2 * spec.minutes * (1 + spec.duplicate_share))
    summary: PostSummary = asyncio.run(
        post_all(
            f"{gateway}/v1/ingest",
            os.environ.get("INGEST_TOKEN"),
            encode_batches(spec, args.batch_size),
            concurrency=args.concurrency,
            rate=args.rate,
            total=approx_total,
            progress=not args.no_progress,
        )
    )
    print(summary.line())
    return 0 if summary.rejected == 0 else 1
