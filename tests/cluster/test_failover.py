"""Kafka nodes crashing, going below min ISR and rolling, under load, on a three-node cluster.

Each run prints a row and asserts acknowledged = stored, duplicates = 0, lost = 0 in
PostgreSQL (``settle``), and reads the topics back: every acknowledged reading is in Kafka,
and no produce request was written twice (same reading, same ``receivedAt``) across the
leader changes, which is the idempotent producer's job.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from devstack.kafka_cluster import KafkaCluster
from schemas.topics import ALL_TOPICS
from tests.cluster.conftest import run_gateway
from tests.cluster.support import ClusterRow, TimedLoad, busiest_leader, topic_copies
from tests.consumer.fleet import Fleet
from tests.consumer.ledger import settle, stored_count, until
from tests.consumer.load import meter
from tests.support import unique

SHORT_DEADLINE_S = 2.0


def _begin(loads: list[TimedLoad], url: str, env: dict[str, str], prefix: str, minutes: int) -> TimedLoad:
    load = TimedLoad(url, env["INGEST_TOKEN"], prefix, devices=25, minutes=minutes, pace_s=0.2)
    loads.append(load)
    load.begin()
    return load


def _books(
    run: str, fleet: Fleet, load: TimedLoad, prefix: str, env: dict[str, str], resume_s: float | None
) -> ClusterRow:
    """Settle the run in PostgreSQL, then count the acknowledged readings in the topics."""
    tally = settle(run, fleet, load, prefix)
    topic = topic_copies(env, prefix, load.acknowledged)
    row = ClusterRow(run, tally, load.longest_gap(), resume_s, topic)
    print(row.line())
    assert topic.missing == 0, row.line()
    assert topic.replayed == 0, f"a produce request was written twice: {row.line()}"
    return row


def test_sigkill_of_the_busiest_leader(
    cluster: KafkaCluster,
    cluster_env: dict[str, str],
    gateway: str,
    fleet: Fleet,
    loads: list[TimedLoad],
    record: list[ClusterRow],
) -> None:
    assert {len(r) for r in cluster.replicas(list(ALL_TOPICS)).values()} == {3}
    prefix = unique("lk")
    fleet.start("c1")
    fleet.start("c2")
    load = _begin(loads, gateway, cluster_env, prefix, minutes=400)
    with fleet.db() as db:
        until(lambda: stored_count(db, prefix) >= 1000, 60, "readings stored before the kill")
    node, records = busiest_leader(cluster, cluster_env, fleet.start_offsets)
    led = [tp for tp, leader in cluster.leaders(list(ALL_TOPICS)).items() if leader == node]
    cluster.kill(node)
    killed_at, acked = time.monotonic(), load.acked()
    until(lambda: load.acked() >= acked + 500, 60, "the gateway acknowledges again")
    resume = load.first_ack_after(killed_at)
    moved = cluster.leaders(list(ALL_TOPICS))
    assert all(moved[tp] not in (node, -1) for tp in led), f"node {node}'s partitions: {moved}"
    load.finish()
    fleet.assert_alive()
    row = _books("1 SIGKILL busiest leader", fleet, load, prefix, cluster_env, resume)
    assert load.retries == 0, "the deadline outlasts the election: nothing had to be re-posted"
    assert row.topic.copies == 0, "no re-post, so no reading may be in Kafka twice"
    row.note = f"node {node} led {len(led)} partitions, {records} records; no 503"
    record.append(row)


@pytest.fixture(scope="module")
def short_gateway(cluster_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway answering 503 after 2 s, as the single-broker outage tests have it."""
    directory = Path(tmp_path_factory.mktemp("short-gateway"))
    yield from run_gateway(cluster_env, directory, PRODUCE_DEADLINE_S=str(SHORT_DEADLINE_S))


def test_two_nodes_down_below_min_isr(
    cluster: KafkaCluster,
    cluster_env: dict[str, str],
    short_gateway: str,
    fleet: Fleet,
    loads: list[TimedLoad],
    record: list[ClusterRow],
) -> None:
    prefix = unique("tw")
    fleet.start("c1")
    load = _begin(loads, short_gateway, cluster_env, prefix, minutes=400)
    with fleet.db() as db:
        until(lambda: stored_count(db, prefix) >= 500, 60, "readings stored before the outage")
    cluster.kill(2)
    cluster.kill(3)
    down_at = time.monotonic()
    until(lambda: load.retries >= 3, 60, "devices get 503 + Retry-After and retry")
    probe = [meter(unique("probe"), datetime.now(UTC).replace(microsecond=0), random.Random(1))]
    started = time.monotonic()
    answer = httpx.post(
        f"{short_gateway}/v1/ingest",
        json=probe,
        headers={"Authorization": f"Bearer {cluster_env['INGEST_TOKEN']}"},
        timeout=15,
    )
    took = time.monotonic() - started
    assert answer.status_code == 503, answer.text
    assert "retry-after" in answer.headers
    assert answer.json()["error"] == "kafka_unavailable"
    assert took <= SHORT_DEADLINE_S + 1.5
    back_at = time.monotonic()
    # A post under way at the second kill may still have been on two nodes; none after it.
    assert load.acks_between(down_at + 1.0, back_at) == 0, "acknowledged while below min ISR"
    acked = load.acked()
    cluster.start_node(2)
    until(lambda: load.acked() >= acked + 250, 90, "writes resume by themselves")
    resume = load.first_ack_after(back_at)
    cluster.start_node(3)
    load.finish()
    row = _books("2 two nodes down", fleet, load, prefix, cluster_env, resume)
    row.note = (
        f"down {back_at - down_at:.0f}s, {load.retries} posts answered 503 and re-posted; "
        "resume_s counts from the first node's start"
    )
    record.append(row)


def test_rolling_restart_under_load(
    cluster: KafkaCluster,
    cluster_env: dict[str, str],
    gateway: str,
    fleet: Fleet,
    loads: list[TimedLoad],
    record: list[ClusterRow],
) -> None:
    prefix = unique("rr")
    fleet.start("c1")
    load = _begin(loads, gateway, cluster_env, prefix, minutes=1000)
    with fleet.db() as db:
        until(lambda: stored_count(db, prefix) >= 500, 60, "readings stored before the roll")
    steps = []
    for node in sorted(cluster.nodes):
        started = time.monotonic()
        cluster.restart(node)  # controlled shutdown: it hands its leaderships over first
        until(lambda: not cluster.under_replicated(), 90, f"node {node} back in sync")
        steps.append(time.monotonic() - started)
    acked = load.acked()
    load.wait_acked(acked + 250, "acknowledging after the roll")
    load.finish()
    fleet.assert_alive()
    row = _books("3 rolling restart", fleet, load, prefix, cluster_env, None)
    assert load.retries == 0, "a rolling restart never leaves a partition below min ISR"
    assert row.topic.copies == 0
    row.note = "restarts took " + ", ".join(f"{s:.0f}s" for s in steps)
    record.append(row)
