"""`energy-ingest simulate --protocol ocpp16|ocpp201`: N charge points over OCPP, their
vehicles' DC over HTTP, each charge point's card registered for its vehicle first.

Charge point ``cp-{prefix}-00042`` charges vehicle ``v-{prefix}-c00042`` with card
``tag-{prefix}-00042``. Before any session starts, ``PUT /v1/idtags/{idTag}`` (analytics
API, admin token) says whose card it is, so the sessions map the connector's meter
``cp-{prefix}-00042:1`` to the vehicle by themselves; no meter mapping is written. Each
charge point authenticates with HTTP Basic (its id and a ``charger`` token issued here
from the same keys as ``energy-ingest token charger ID``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from tqdm import tqdm

from common.keys import load_keyring
from common.tokens import Scope, issue
from simulator.ocpp_plan import PlanSpec, SessionPlan, UnitStyle, plan_sessions
from simulator.ocpp_station import StationConfig, StationStats, run_station
from simulator.ocpp_transcript import write_transcript
from simulator.poster import post_all

PROTOCOLS = {"ocpp16": "ocpp1.6", "ocpp201": "ocpp2.0.1"}
STYLES = (UnitStyle.WH, UnitStyle.KWH, UnitStyle.KWH_MULTIPLIER)


@dataclass(frozen=True, slots=True)
class ChargePointPlan:
    """One simulated charge point, its card, its vehicle and its sessions."""

    charge_point_id: str
    id_tag: str
    vehicle_id: str
    sessions: list[SessionPlan]


def fleet_plan(n: int, prefix: str, spec: PlanSpec, seed: int, end: datetime) -> list[ChargePointPlan]:
    """Every charge point's plan; the last session of each stops at or before ``end``."""
    rng = random.Random(seed)  # noqa: S311 - simulation, not security
    start = end - spec.span()
    out = []
    for i in range(n):
        tag = f"tag-{prefix}-{i:05d}"
        sessions = plan_sessions(spec, rng, tag, start, STYLES[i % len(STYLES)])
        out.append(ChargePointPlan(f"cp-{prefix}-{i:05d}", tag, f"v-{prefix}-c{i:05d}", sessions))
    return out


def vehicle_readings(cp: ChargePointPlan) -> Iterator[dict[str, Any]]:
    """The vehicle's DC readings at its sessions' sample times (SoC rising while charging)."""
    soc = 20.0
    for plan in cp.sessions:
        for at, dc in plan.dc_readings():
            soc = min(100.0, soc + dc / 75 * 100)
            yield {
                "type": "vehicle",
                "vehicleId": cp.vehicle_id,
                "soc": round(soc, 3),
                "kwhDeliveredDc": dc,
                "batteryTemp": 30.0,
                "timestamp": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            }


def charger_token(env: dict[str, str], charge_point_id: str) -> str:
    """A ``charger`` token for the charge point, from $AUTH_KEYS / $AUTH_KEYS_FILE / $AUTH_SECRET."""
    names = ("AUTH_SECRET", "AUTH_KEYS", "AUTH_KEYS_FILE", "AUTH_SIGNING_KID")
    keys = load_keyring(*(env.get(name) for name in names))
    return issue(keys, Scope.CHARGER, charge_point_id)


async def register_idtags(fleet: list[ChargePointPlan], analytics_url: str, admin_token: str) -> None:
    """PUT /v1/idtags/{idTag} {"vehicleId"} for every charge point's card."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    sem = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=analytics_url, headers=headers, timeout=30) as client:

        async def one(cp: ChargePointPlan) -> None:
            async with sem:
                r = await client.put(f"/v1/idtags/{cp.id_tag}", json={"vehicleId": cp.vehicle_id})
                if r.status_code >= 300:
                    raise RuntimeError(f"idTag {cp.id_tag}: {r.status_code} {r.text}")

        await asyncio.gather(*(one(cp) for cp in fleet))


async def run_fleet(
    fleet: list[ChargePointPlan],
    protocol: str,
    ocpp_url: str,
    env: dict[str, str],
    pace_s: float,
    connect_per_s: float,
    transcript: list[tuple[str, str]] | None = None,
    progress: bool = True,
) -> list[StationStats]:
    """Every charge point at once (connections ramped at ``connect_per_s``)."""
    bar = tqdm(total=len(fleet), unit="cp", disable=not progress)

    async def one(i: int, cp: ChargePointPlan) -> StationStats:
        await asyncio.sleep(i / connect_per_s if connect_per_s else 0)
        config = StationConfig(
            cp.charge_point_id, protocol, ocpp_url, charger_token(env, cp.charge_point_id), pace_s
        )
        stats = await run_station(config, cp.sessions, transcript if i == 0 else None)
        bar.update(1)
        return stats

    try:
        return list(await asyncio.gather(*(one(i, cp) for i, cp in enumerate(fleet))))
    finally:
        bar.close()


def ocpp_base_url(env: dict[str, str]) -> str:
    """$OCPP_URL, or ws://<$GATEWAY_URL's host>/ocpp."""
    if env.get("OCPP_URL"):
        return env["OCPP_URL"]
    gateway = env.get("GATEWAY_URL", "http://127.0.0.1:3000")
    return gateway.replace("https://", "wss://").replace("http://", "ws://").rstrip("/") + "/ocpp"


def summary_line(stats: list[StationStats], seconds: float) -> str:
    calls = sum(s.calls for s in stats)
    readings = sum(s.readings_acknowledged for s in stats)
    errors = sum(len(s.errors) for s in stats)
    sessions = sum(len(s.transactions) for s in stats)
    reconnects = sum(max(0, s.connects - 1) for s in stats)
    return (
        f"{len(stats)} charge points: {sessions} sessions, {calls} calls answered, {readings} register "
        f"readings acknowledged, {reconnects} reconnects, {errors} charge point(s) failed, in {seconds:.1f} s"
    )


def main(args: argparse.Namespace) -> int:
    """Register the cards, post the vehicles' DC, run the charge points; print the summary."""
    env = dict(os.environ)
    protocol = PROTOCOLS[args.protocol]
    spec = PlanSpec(
        sessions=args.sessions,
        samples_per_session=args.samples,
        reset_share=args.reset_share,
        reconnect_share=args.reconnect_share,
        duplicate_share=args.duplicate_share,
    )
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    fleet = fleet_plan(args.devices, args.prefix, spec, args.seed, end)
    if not args.no_mapping:
        analytics, admin = env.get("ANALYTICS_URL"), env.get("ADMIN_TOKEN")
        if not (analytics and admin):
            sys.exit(
                "simulate: ANALYTICS_URL and ADMIN_TOKEN are needed to register idTags (or --no-mapping)"
            )
        asyncio.run(register_idtags(fleet, analytics, admin))
    try:
        charger_token(env, "probe")
    except ValueError as exc:
        sys.exit(f"simulate: cannot issue charger tokens ({exc}); set AUTH_SECRET or AUTH_KEYS")
    gateway = env.get("GATEWAY_URL", "http://127.0.0.1:3000")
    readings = [r for cp in fleet for r in vehicle_readings(cp)]
    size = max(1, args.batch_size)
    bodies = [
        (len(c), orjson.dumps(c)) for c in (readings[i : i + size] for i in range(0, len(readings), size))
    ]
    rejected = 0
    if not args.no_vehicles:
        token = env.get("INGEST_TOKEN")
        posted = asyncio.run(
            post_all(f"{gateway}/v1/ingest", token, bodies, args.concurrency, progress=False)
        )
        print(f"vehicles' DC over HTTP: {posted.line()}")
        rejected = posted.rejected
    frames: list[tuple[str, str]] | None = [] if args.transcript else None
    started = time.monotonic()
    stats = asyncio.run(
        run_fleet(
            fleet,
            protocol,
            ocpp_base_url(env),
            env,
            args.pace,
            args.connect_rate,
            frames,
            not args.no_progress,
        )
    )
    seconds = time.monotonic() - started
    print(summary_line(stats, seconds))
    for s in stats:
        for e in s.errors[:1]:
            print(f"  {e}", file=sys.stderr)
    if frames is not None:
        write_transcript(args.transcript, protocol, fleet[0].charge_point_id, frames)
        print(f"transcript of {fleet[0].charge_point_id}: {args.transcript}")
    checked = True
    if args.check:
        from simulator.ocpp_check import check_sessions

        token = env.get("ANALYTICS_TOKEN") or env.get("ADMIN_TOKEN") or ""
        result = check_sessions(fleet, env.get("ANALYTICS_URL", "http://127.0.0.1:3001"), token)
        print(result.line())
        for line in result.differences[:10]:
            print(f"  {line}", file=sys.stderr)
        checked = result.matched == result.expected
    return 0 if checked and rejected == 0 and not any(s.errors for s in stats) else 1
