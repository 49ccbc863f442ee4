"""Post request bodies to the gateway, flat out or at a target rate, with a progress bar."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx
from tqdm import tqdm


@dataclass(slots=True)
class PostSummary:
    """What a load run did."""

    requests: int = 0
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)

    @property
    def readings_per_s(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    def latency_ms(self, q: float) -> float:
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (
            f"sent {self.sent} readings in {self.requests} requests, accepted {self.accepted}, "
            f"rejected {self.rejected} in {self.seconds:.1f} s = {self.readings_per_s:,.0f} readings/s "
            f"(p50 {self.latency_ms(0.5):.1f} ms, p99 {self.latency_ms(0.99):.1f} ms; HTTP {codes})"
        )


async def post_all(
    url: str,
    token: str | None,
    bodies: Iterable[tuple[int, bytes]],
    concurrency: int = 8,
    rate: float | None = None,
    total: int | None = None,
    progress: bool = True,
    retry_503: bool = True,
) -> PostSummary:
    """POST every body to ``url`` with ``concurrency`` requests in flight.

    ``rate`` paces readings per second (None: flat out). A 503 or 429 is retried after a
    short pause, as a device would; other errors count as rejected.
    """
    summary = PostSummary()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue(maxsize=concurrency * 4)
    bar = tqdm(total=total, unit="rd", disable=not progress, smoothing=0.1)
    started = time.perf_counter()

    async def worker(client: httpx.AsyncClient) -> None:
        while (item := await queue.get()) is not None:
            n, body = item
            while True:
                t0 = time.perf_counter()
                resp = await client.post(url, content=body, headers=headers)
                summary.latencies_s.append(time.perf_counter() - t0)
                summary.requests += 1
                summary.statuses[resp.status_code] += 1
                if resp.status_code in (429, 503) and retry_503:
                    await asyncio.sleep(float(resp.headers.get("Retry-After", "1")) / 10)
                    continue
                break
            summary.sent += n
            if resp.status_code == 202:
                summary.accepted += n
            else:
                summary.rejected += n
            bar.update(n)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        workers = [asyncio.create_task(worker(client)) for _ in range(concurrency)]
        queued = 0
        for n, body in bodies:
            if rate:
                due = started + queued / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            await queue.put((n, body))
            queued += n
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    summary.seconds = time.perf_counter() - started
    bar.close()
    return summary
