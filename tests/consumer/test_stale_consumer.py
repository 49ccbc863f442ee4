"""A replica frozen mid-batch (SIGSTOP) past its session commits nothing once it wakes."""

from __future__ import annotations

import signal
import time

from tests.consumer.fleet import Fleet
from tests.consumer.ledger import Tally, settle, stored_count, until, wait_stored
from tests.consumer.load import LoadStarter
from tests.support import unique

STALE_ENV = {
    "KAFKA_SESSION_TIMEOUT_MS": "6000",
    "KAFKA_MAX_POLL_INTERVAL_MS": "10000",
    # PostgreSQL ends the frozen replica's open transaction, releasing its locks.
    "CONSUMER_DB_IDLE_TX_TIMEOUT_MS": "3000",
    "CONSUMER_DB_STATEMENT_TIMEOUT_MS": "5000",
}


def test_stale_consumer_commits_nothing_after_takeover(
    fleet: Fleet, start_load: LoadStarter, record: list[Tally]
) -> None:
    prefix = unique("st")
    # Outlasts every phase below (the freeze may take several tries); finished after them.
    load = start_load(prefix, devices=50, minutes=400, pace_s=0.3)
    everything = len(fleet.start_offsets)
    for name in ("c1", "c2"):
        fleet.start(name, STALE_ENV)
    for name in ("c1", "c2"):
        fleet.wait_metrics(name)
    until(
        lambda: all(fleet.metric(n, "consumer_batch_messages_count") >= 3 for n in ("c1", "c2")),
        60,
        "both replicas commit batches",
    )
    assert fleet.metric("c1", "consumer_assigned_partitions") > 0
    frozen_at = time.monotonic()
    assert fleet.freeze_mid_batch("c1", signal.SIGSTOP), "c1 stopped inside a batch transaction"
    acked_at_freeze = load.acked()
    until(lambda: fleet.metric("c2", "consumer_assigned_partitions") == everything, 30, "c2 takes over")
    with fleet.db() as db:
        wait_stored(db, prefix, acked_at_freeze)
        takeover = time.monotonic() - frozen_at
        target = stored_count(db, prefix) + 300
        until(lambda: stored_count(db, prefix) >= target, 30, "c2 commits past c1's stale batch")
    frozen_for = time.monotonic() - frozen_at
    fleet.procs["c1"].signal(signal.SIGCONT)

    def stale_batch_dropped() -> float:
        return fleet.metric("c1", "consumer_abandoned_batches_total")

    until(lambda: stale_batch_dropped() >= 1, 30, "c1 drops its stale batch")
    load.finish()
    fenced = fleet.metric("c1", "consumer_fenced_batches_total")
    why = {
        w: fleet.metric("c1", "consumer_abandoned_batches_total", {"why": w}) for w in ("fenced", "rebalance")
    }
    fleet.assert_alive()
    row = settle("8 stale consumer (SIGSTOP)", fleet, load, prefix, takeover)
    row.note = (
        f"c1 frozen {frozen_for:.0f}s mid-transaction; its batch dropped: "
        f"fenced={int(fenced)}, abandoned on rebalance={int(why['rebalance'])}; recovery = takeover by c2"
    )
    record.append(row)
