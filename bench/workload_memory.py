"""The bench process's workload steps alone, and their peak memory: ``python -m bench.workload_memory``.

Runs, without any stack, what ``energy-ingest bench`` does with its workloads: the
throughput fleet, the limit's batches, naive bodies taken and dropped as the poster does,
the pipeline's pre-encoded bodies, and one latency point's bodies at 75 % of a given
maximum rate. Prints the process's peak RSS after each step.
"""

from __future__ import annotations

import argparse
import math
import resource

from bench.config import CONSUMER_BATCH, BenchConfig
from bench.workload import Workload
from simulator.fleet import FleetSpec


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """Run the steps for the bench's default fleet."""
    p = argparse.ArgumentParser(prog="python -m bench.workload_memory", description=__doc__)
    p.add_argument("--max-rate", type=float, default=57_850.0, help="pipeline maximum, readings/s")
    p.add_argument("--naive-readings", type=int, default=30_000, help="single-reading bodies to take")
    args = p.parse_args()
    c = BenchConfig()
    w = Workload.generate(FleetSpec(devices=c.devices, minutes=c.minutes, seed=c.seed, prefix="bench"))
    print(f"fleet: {len(w):,} readings, {w.unique:,} distinct: peak {_peak_mib():.0f} MiB")
    batches = w.batches(CONSUMER_BATCH)
    print(f"limit batches ({len(batches)}): peak {_peak_mib():.0f} MiB")
    del batches
    taken = 0
    for n, _ in w.stream(1):
        taken += n
        if taken >= args.naive_readings:
            break
    print(f"naive: {taken:,} bodies streamed: peak {_peak_mib():.0f} MiB")
    bodies = w.bodies(c.batch_size)
    print(f"pipeline bodies ({sum(len(b) for _, b in bodies):,} bytes): peak {_peak_mib():.0f} MiB")
    del bodies
    minutes = max(1, math.ceil(0.75 * args.max_rate * c.latency_seconds / (2 * c.devices)))
    lat = Workload.generate(FleetSpec(devices=c.devices, minutes=minutes, seed=c.seed, prefix="lat"))
    held = lat.bodies(c.batch_size)
    print(f"latency at 75 % of {args.max_rate:,.0f}/s: {len(lat):,} readings: peak {_peak_mib():.0f} MiB")
    del held


if __name__ == "__main__":
    main()
