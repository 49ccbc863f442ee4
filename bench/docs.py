"""``docs/benchmarks.md``: what the benchmark measures and how, with the latest figures."""

from __future__ import annotations

from pathlib import Path

from bench.report import markdown
from bench.results import BenchResult

METHOD = """\
# Benchmarks

`energy-ingest bench` measures, on one machine and in one run, the same tables and the
same generated readings (the fleet simulator's meters and vehicles, with its duplicates
and late readings) three ways:

1. **limit**: one in-process loader stores the pre-generated readings with the
   consumer's own `BatchWriter`: per batch of `BATCH_MAX_RECORDS` readings one
   transaction that COPYs into staging tables and runs `merge_meter.sql` /
   `merge_vehicle.sql` (history insert, status upsert, hourly rollups). No HTTP, no
   Kafka, no decoding: the physical limit of this database on this machine.
2. **naive**: the seed's design as a baseline, a small FastAPI server
   (`bench/naive.py`) taking one reading per HTTP request and storing it
   in one transaction (an `INSERT` into history and a status upsert) from a psycopg
   pool. It is slow, so each repetition is bounded in time.
3. **pipeline**: simulator → gateway → Kafka → consumer(s) → PostgreSQL, the services
   run as the same processes `make run` starts (per-device rate limit lifted). Time
   runs from the first request to the commit of the last row.

Before the pipeline's runs the bench warms up: it posts a small fleet until the
consumers have stored it (they have joined their group), then posts it again, flat out,
for `--warmup-s` seconds (30; 10 with `--quick`) and waits until the consumers have
taken every record. Kafka's JVM compiles its hot paths during its first minute of load;
without the warm-up its compiler threads took 0.2 of the 2 cores during the first
measured runs, CPU that a broker in service for days does not spend. The same fleet is
posted each round, so nothing is stored twice and the gateway sees a steady set of
devices.

Each mode is repeated into emptied tables (history, status and rollups truncated) and
the median is reported; the ratios are pipeline/limit and pipeline/naive. Throughput
counts every reading sent, duplicates included (each mode stores them once).

**Latency** is ingest-to-visible: for every stored reading, from the gateway's receive
stamp (`received_at`) to the commit of the consumer transaction that stored it, read
from PostgreSQL itself (`pg_xact_commit_timestamp(xmin)`, with
`track_commit_timestamp = on` in the bench's own server), so nothing polls the tables
during the run. It is measured with the load paced at 25 %, 50 % and 75 % of the
pipeline's measured maximum, and at 10,000 readings/s when that is below the maximum.

**Memory**: the peak of each process per phase: `VmHWM` (reset at each phase start
through `/proc/<pid>/clear_refs`) for the gateway, each consumer, the naive server,
Kafka's JVM and the bench process itself (loader and load generator); for PostgreSQL
the sampled peak of the summed `Pss` over the postmaster and its backends (shared
buffers counted once). The targets table checks the highest peak of the gateway and
every consumer against issue 15's 150 MiB.

The bench process keeps no readings: a workload is its fleet spec plus one counting
pass (readings, distinct readings, days), and the readings are regenerated from the
deterministic spec when needed. The naive runs and the warm-up stream their bodies (one
simulated minute and one body in memory at a time); the timed pipeline and latency runs
post request bodies encoded before the clock starts, as before, but only the bytes are
kept (about 125 bytes a reading); the limit's batches are built from the stream.

The bench starts its own Kafka and PostgreSQL in a temporary folder on free ports and
removes them afterwards. It writes `bench.json`, `bench.md`, `bench.png` and the
services' log into `results/bench-<time>/` (git-ignored), and rewrites this page.

## Running it

```
energy-ingest bench              # the full run (about 6 minutes on 2 cores)
energy-ingest bench --quick      # smaller fleet, shorter runs: under 5 minutes
energy-ingest bench --quick --json bench.json --no-docs
```

`energy-ingest bench --help` lists the knobs (fleet size, repetitions, batch size,
requests in flight, consumers, partitions, modes). Run it on a quiet machine: every
process of the system shares the same cores, so anything else running shows up in
the figures (the report warns when the load average was high).

The simulator posts 2,000 readings per request by default (`--batch-size`; the gateway
takes up to `MAX_RECORDS`, 10,000). Where the CPU goes, per process and per reading, and
what each optimisation changed: [performance.md](performance.md), reproduced with
`python -m bench.profile`.
"""


def docs_page(result: BenchResult, chart: Path | None) -> str:
    """The whole page for ``result``."""
    figure = f"\nChart of this run: `{chart}` (in the git-ignored results folder).\n" if chart else ""
    return f"{METHOD}\n## Latest figures\n\n{markdown(result)}{figure}"


def write_docs(result: BenchResult, path: Path, chart: Path | None) -> Path:
    """Rewrite ``path`` with ``result``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(docs_page(result, chart))
    return path
