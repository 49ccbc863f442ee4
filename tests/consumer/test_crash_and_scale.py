"""Consumers crashing (kill -9 mid-batch) and replicas coming and going under load."""

from __future__ import annotations

import signal
import time

from tests.consumer.fleet import Fleet
from tests.consumer.ledger import Tally, settle, stored_count, until, wait_stored
from tests.consumer.load import LoadStarter
from tests.support import unique


def progress(fleet: Fleet, prefix: str, more: int, what: str) -> None:
    """Wait until ``more`` further readings of ``prefix`` are stored."""
    with fleet.db() as db:
        target = stored_count(db, prefix) + more
        until(lambda: stored_count(db, prefix) >= target, 60, what)


def test_kill_9_mid_batch_several_times(fleet: Fleet, start_load: LoadStarter, record: list[Tally]) -> None:
    prefix = unique("k9")
    load = start_load(prefix, devices=50, minutes=400, pace_s=0.3)  # outlasts the kills; finished after
    fleet.start("c1")
    recoveries, mid_batch = [], 0
    for round_ in range(3):
        progress(fleet, prefix, 200, f"progress before kill {round_ + 1}")
        mid_batch += fleet.freeze_mid_batch("c1", signal.SIGKILL)
        fleet.procs["c1"].wait(10)
        load.wait_acked(load.acked() + 200, "more acknowledged while the consumer is down")
        fleet.start("c1")
        target = load.acked()
        with fleet.db() as db:
            recoveries.append(wait_stored(db, prefix, target))
    load.finish()
    assert mid_batch >= 2, "the kills should land inside a batch transaction"
    fleet.assert_alive()
    row = settle("1 kill -9 x3 mid-batch", fleet, load, prefix, max(recoveries))
    row.note = f"{mid_batch}/3 kills inside a transaction; recovery per kill " + ", ".join(
        f"{r:.1f}s" for r in recoveries
    )
    record.append(row)


def test_scale_1_to_3_to_1_under_load(fleet: Fleet, start_load: LoadStarter, record: list[Tally]) -> None:
    prefix = unique("sc")
    load = start_load(prefix, devices=50, minutes=400, pace_s=0.3)  # outlasts the scaling; finished after
    fleet.start("c1")
    progress(fleet, prefix, 300, "c1 alone stores readings")
    for name in ("c2", "c3"):
        fleet.start(name)
    for name in ("c1", "c2", "c3"):
        fleet.wait_metrics(name)

    def everyone_committed() -> bool:
        return all(fleet.metric(n, "consumer_batch_messages_count") >= 5 for n in ("c1", "c2", "c3"))

    until(everyone_committed, 60, "all three replicas commit batches")
    progress(fleet, prefix, 500, "three replicas store readings")
    shares = {n: int(fleet.metric(n, "consumer_assigned_partitions")) for n in ("c1", "c2", "c3")}
    assert sum(shares.values()) == len(fleet.start_offsets), shares
    assert all(shares.values()), shares
    codes = {n: fleet.stop(n) for n in ("c2", "c3")}
    assert codes == {"c2": 0, "c3": 0}, "a scaled-down replica stops cleanly on SIGTERM"
    started = time.monotonic()
    all_partitions = len(fleet.start_offsets)
    until(lambda: fleet.metric("c1", "consumer_assigned_partitions") == all_partitions, 30, "c1 owns all")
    with fleet.db() as db:
        wait_stored(db, prefix, load.acked())
    recovery = time.monotonic() - started
    load.finish()
    fleet.assert_alive()
    row = settle("2 scale 1->3->1", fleet, load, prefix, recovery)
    row.note = f"partitions while 3: {shares}; recovery: scale-down to c1 owning all and caught up"
    record.append(row)
