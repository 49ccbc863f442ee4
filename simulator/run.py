"""`energy-ingest simulate`: generate a fleet and post it to the gateway (the command's body)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import httpx

from simulator.fleet import FleetSpec, encode_batches
from simulator.poster import PostSummary, post_all


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
