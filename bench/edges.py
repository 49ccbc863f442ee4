"""What hostile bodies cost the gateway, and whether they stall everyone else.

Starts its own Kafka broker (devstack, in a temporary folder; no PostgreSQL: the gateway
does not use it) and one gateway process (one worker, authentication on, default limits:
8 MiB bodies, 10,000 readings). Then:

1. **latency**: one client posts single-reading requests back to back for ``--seconds``
   and reports p50/p99/max, first alone, then while a separate process posts 8 MiB
   invalid bodies in a loop (``--flooders`` connections);
2. **worst inputs**: each bad input of :data:`INPUTS` is posted ``--repeat`` times; prints
   the answer's status and size, the wall time, the gateway's CPU seconds per request and
   its resident memory (RSS now and the peak so far, from /proc).

    .venv/bin/python -m bench.edges              # about 1.5 minutes
    .venv/bin/python -m bench.edges --seconds 5  # quicker, noisier
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

EIGHT_MIB = 8 * 1024 * 1024


def _ts() -> str:
    return (
        (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    )


def _fill(item: bytes, size: int, sep: bytes = b",", open_: bytes = b"[", close: bytes = b"]") -> bytes:
    n = max(1, (size - len(open_) - len(close)) // (len(item) + len(sep)))
    return open_ + sep.join([item] * n) + close


def _bad_reading(id_length: int = 80) -> bytes:
    """A meter reading with four invalid fields (its id too long)."""
    return (
        b'{"type":"meter","meterId":"' + b"x" * id_length + b'","kwhConsumedAc":-1,"voltage":"high",'
        b'"timestamp":"yesterday"}'
    )


def _invalid_8mib() -> bytes:
    """The flood body: 8 MiB, a JSON array of 10,000 invalid readings (the record limit)."""
    pad = (EIGHT_MIB - 64) // 10_000 - len(_bad_reading(0)) - 1
    return b"[" + b",".join([_bad_reading(pad)] * 10_000) + b"]"


INPUTS: dict[str, Callable[[], tuple[bytes, str]]] = {
    "array of 9,999 bad readings (1.6 MB)": lambda: (
        b"[" + b",".join([_bad_reading()] * 9_999) + b"]",
        "application/json",
    ),
    "8 MiB array of 10,000 bad readings": lambda: (_invalid_8mib(), "application/json"),
    "8 MiB array of 50,000 bad readings": lambda: (_fill(_bad_reading(), EIGHT_MIB - 64), "application/json"),
    "8 MiB array of {}": lambda: (_fill(b"{}", EIGHT_MIB - 64), "application/json"),
    "8 MiB NDJSON of bad lines": lambda: (
        _fill(_bad_reading(), EIGHT_MIB - 64, sep=b"\n", open_=b"", close=b""),
        "application/x-ndjson",
    ),
    "8 MiB type string (echoed tag)": lambda: (
        b'{"type":"' + b"m" * (EIGHT_MIB - 64) + b'"}',
        "application/json",
    ),
    "8 MiB malformed JSON": lambda: (
        b'[{"type":"meter","meterId":"' + b"x" * (EIGHT_MIB - 64),
        "application/json",
    ),
    "8 MiB bad body, no token": lambda: (_invalid_8mib(), "application/json"),
}


def _rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of ``pid`` in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def _singles(url: str, token: str, seconds: float) -> dict[str, Any]:
    """Single-reading requests back to back on one keep-alive connection."""
    import httpx

    latencies: list[float] = []
    statuses: dict[str, int] = {}
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    ts = _ts()
    n = 0
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        stop = time.perf_counter() + seconds
        while (start := time.perf_counter()) < stop:
            body = {"type": "meter", "meterId": f"edge-{n % 5000}", "kwhConsumedAc": 0.5, "voltage": 240}
            n += 1
            r = client.post("/v1/ingest", content=json.dumps(body | {"timestamp": ts}))
            latencies.append(time.perf_counter() - start)
            statuses[str(r.status_code)] = statuses.get(str(r.status_code), 0) + 1
    return {
        "requests": len(latencies),
        "p50_ms": _pct(latencies, 0.50),
        "p99_ms": _pct(latencies, 0.99),
        "max_ms": max(latencies) * 1000 if latencies else float("nan"),
        "statuses": statuses,
    }


def _flood(url: str, token: str, seconds: float) -> None:
    """The flooding process: 8 MiB invalid bodies in a loop on one connection."""
    import httpx

    body = _invalid_8mib()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    statuses: dict[str, int] = {}
    answered = 0
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            try:
                r = client.post("/v1/ingest", content=body)
            except httpx.HTTPError as exc:
                key = type(exc).__name__
            else:
                key, answered = str(r.status_code), max(answered, len(r.content))
            statuses[key] = statuses.get(key, 0) + 1
    print(json.dumps({"statuses": statuses, "largest_answer": answered}))


def _worst(url: str, token: str, pid: int, repeat: int) -> list[dict[str, Any]]:
    import httpx

    from energy_ingest.procs import cpu_seconds

    rows = []
    for name, make in INPUTS.items():
        body, ctype = make()
        auth = {} if "no token" in name else {"Authorization": f"Bearer {token}"}
        headers = auth | {"Content-Type": ctype}
        walls, size, status = [], 0, 0
        cpu0 = cpu_seconds(pid)
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            for _ in range(repeat):
                start = time.perf_counter()
                r = client.post("/v1/ingest", content=body)
                walls.append(time.perf_counter() - start)
                size, status = len(r.content), r.status_code
        cpu = (cpu_seconds(pid) - cpu0) / repeat
        rss, peak = _rss_kib(pid)
        rows.append(
            {
                "input": name,
                "bytes": len(body),
                "status": status,
                "answer_bytes": size,
                "wall_ms": sum(walls) / len(walls) * 1000,
                "cpu_ms": cpu * 1000,
                "rss_mib": rss / 1024,
                "peak_mib": peak / 1024,
            }
        )
    return rows


def _run(kafka_env: dict[str, str], args: argparse.Namespace) -> None:
    from bench.kafka_env import gateway_as_admin
    from common.kafka import KafkaAccess
    from common.tokens import Scope, issue
    from devstack import free_port
    from energy_ingest.procs import ServiceProcess, wait_http
    from energy_ingest.topics import create_topics

    asyncio.run(create_topics(KafkaAccess.admin_from(kafka_env), 6))
    secret = secrets.token_urlsafe(32)
    token = issue(secret, Scope.FLEET, "bench")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = gateway_as_admin(kafka_env) | {
        "AUTH_SECRET": secret,
        "GATEWAY_PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    sink = open(os.devnull, "w") if not args.verbose else None  # noqa: SIM115
    gateway = ServiceProcess("gateway", ["gateway"], env, sink=sink).start()
    try:
        wait_http(f"{url}/readyz", 60, gateway)
        _singles(url, token, 2.0)  # warm-up
        rss0, _ = _rss_kib(gateway.pid)
        alone = _singles(url, token, args.seconds)
        cmd = [sys.executable, "-m", "bench.edges", "_flood", url, token, str(args.seconds + 2)]
        floods = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(args.flooders)]
        time.sleep(1.0)
        flooded = _singles(url, token, args.seconds)
        flood_out = [json.loads(p.communicate(timeout=120)[0]) for p in floods]
        worst = _worst(url, token, gateway.pid, args.repeat)
    finally:
        gateway.stop()
        if sink is not None:
            sink.close()
    _print(alone, flooded, flood_out, worst, rss0, args)


def _print(
    alone: dict[str, Any],
    flooded: dict[str, Any],
    flood_out: list[dict[str, Any]],
    worst: list[dict[str, Any]],
    rss0: int,
    args: argparse.Namespace,
) -> None:
    print(f"\nsingle-reading requests, one client, {args.seconds:g} s each")
    print(f"{'while':38} {'requests':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}  statuses")
    for label, r in (("alone", alone), (f"{args.flooders} client(s) loop 8 MiB invalid", flooded)):
        print(
            f"{label:38} {r['requests']:>8} {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['max_ms']:>7.1f}"
            f"  {r['statuses']}"
        )
    for f in flood_out:
        print(f"  flooder: {f['statuses']}, largest answer {f['largest_answer']:,} bytes")
    print(
        f"\nworst inputs, each posted {args.repeat} times (gateway RSS after start-up {rss0 / 1024:.0f} MiB)"
    )
    print(
        f"{'input':44} {'bytes':>9} {'status':>6} {'answer B':>10} {'wall ms':>8} {'CPU ms':>7} "
        f"{'RSS MiB':>7} {'peak MiB':>8}"
    )
    for w in worst:
        print(
            f"{w['input']:44} {w['bytes']:>9} {w['status']:>6} {w['answer_bytes']:>10,} {w['wall_ms']:>8.0f} "
            f"{w['cpu_ms']:>7.0f} {w['rss_mib']:>7.0f} {w['peak_mib']:>8.0f}"
        )
    print(f"\n{os.cpu_count()} CPU cores shared by Kafka, the gateway and the clients")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per latency row")
    parser.add_argument("--flooders", type=int, default=1, help="processes looping 8 MiB invalid bodies")
    parser.add_argument("--repeat", type=int, default=3, help="posts of each worst input")
    parser.add_argument("--bootstrap", help="use this running Kafka instead of starting one")
    parser.add_argument("--verbose", action="store_true", help="show the gateway's output")
    args = parser.parse_args()
    if args.bootstrap:
        from bench.kafka_env import running_kafka

        _run(running_kafka(args.bootstrap), args)
        return 0
    from devstack import KafkaBroker, free_port

    with tempfile.TemporaryDirectory(prefix="edges-bench-") as tmp:
        broker = KafkaBroker(Path(tmp) / "kafka", free_port(), free_port())
        broker.start()
        try:
            _run(broker.env(), args)
        finally:
            broker.stop()
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_flood":
        _flood(sys.argv[2], sys.argv[3], float(sys.argv[4]))
        sys.exit(0)
    sys.exit(main())
