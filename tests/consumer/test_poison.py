"""Poison messages go to ingest_rejects without stalling a partition; a flood halts."""

from __future__ import annotations

from collections import Counter

from tests.consumer.fleet import Fleet
from tests.consumer.ledger import Tally, settle, stored_count, until
from tests.consumer.load import LoadStarter
from tests.consumer.poison import Produced, produce, spread
from tests.support import unique

REJECTS_AT = """
SELECT topic, partition, kafka_offset, key, raw, reason FROM ingest_rejects
WHERE (topic, partition, kafka_offset) IN (SELECT * FROM unnest(%s::text[], %s::int[], %s::bigint[]))
"""


def partition_counts(fleet: Fleet) -> dict[str, int]:
    return dict(Counter(tp.topic for tp in fleet.start_offsets))


def rejects_of(
    fleet: Fleet, produced: list[Produced]
) -> dict[tuple[str, int, int], tuple[bytes, bytes, str]]:
    """The ingest_rejects rows at the offsets where ``produced`` landed."""
    wanted = {(p.tp.topic, p.tp.partition, p.offset) for p in produced}
    with fleet.db() as db:
        rows = db.execute(
            REJECTS_AT, ([w[0] for w in wanted], [w[1] for w in wanted], [w[2] for w in wanted])
        ).fetchall()
    return {(t, p, o): (bytes(k), bytes(raw), reason) for t, p, o, k, raw, reason in rows}


def test_poison_messages_are_rejected_and_partitions_move_on(
    fleet: Fleet, start_load: LoadStarter, record: list[Tally]
) -> None:
    prefix = unique("px")
    load = start_load(prefix, devices=40, minutes=30, pace_s=0.2)
    fleet.start("c1")
    with fleet.db() as db:
        until(lambda: stored_count(db, prefix) >= 300, 60, "good readings flow before the poison")
    produced = produce(fleet.env, spread(partition_counts(fleet), copies=3))
    row = settle("6 poison messages", fleet, load, prefix)
    rejects = rejects_of(fleet, produced)
    assert len(rejects) == len(produced), "every poison message is in ingest_rejects"
    wrong = [
        (p.poison.name, rejects[(p.tp.topic, p.tp.partition, p.offset)])
        for p in produced
        if rejects[(p.tp.topic, p.tp.partition, p.offset)] != (p.key, p.poison.value, p.poison.reason)
    ]
    assert not wrong, f"raw bytes, key and reason kept exactly: {wrong[:3]}"
    assert fleet.consumed() == len(load.acknowledged) + len(produced), "no message skipped or stalled"
    assert fleet.metric("c1", "consumer_rejects_total") == len(produced)
    row.rejects = len(rejects)
    n, k = row.stored + len(produced), len(produced)
    row.note = f"stored = N - k with N = {n}, k = {k} ({k // 3} kinds x 3)"
    record.append(row)


def test_reject_flood_halts_without_advancing_offsets(
    fleet: Fleet, start_load: LoadStarter, record: list[Tally]
) -> None:
    prefix = unique("fl")
    guard = {"REJECT_WINDOW": "200", "REJECT_MIN_MESSAGES": "50", "REJECT_MAX_RATIO": "0.5"}
    load = start_load(prefix, devices=30, minutes=5, pace_s=0.1)
    c1 = fleet.start("c1", guard)
    row = settle("7 reject flood", fleet, load, prefix)
    before = fleet.stored_offsets()
    produced = produce(fleet.env, spread(partition_counts(fleet), copies=30))
    code = c1.wait(60)
    output = c1.tail(200)
    assert code == 3, output
    assert "consumer halted" in output
    assert "were rejected" in output
    after = fleet.stored_offsets()
    advanced = sum(after[tp] - before[tp] for tp in before)
    recorded = rejects_of(fleet, produced)
    assert advanced == len(recorded), "offsets moved only over messages recorded as rejects"
    assert advanced < len(produced) / 2, "halted early instead of rejecting everything"
    c1 = fleet.start("c1", guard)  # a restart does not skip the flood either
    assert c1.wait(60) == 3
    again = fleet.stored_offsets()
    advanced = sum(again[tp] - before[tp] for tp in before)
    assert advanced == len(rejects_of(fleet, produced))
    assert advanced < len(produced)
    with fleet.db() as db:
        assert stored_count(db, prefix) == len(load.acknowledged)
    row.rejects = len(recorded)
    row.note = f"flood of {len(produced)}: exit 3 after {len(recorded)} rejects; again on restart"
    record.append(row)
