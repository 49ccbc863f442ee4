"""PostgreSQL and the Kafka broker going away under load, and coming back."""

from __future__ import annotations

import time

from devstack import Stack
from tests.consumer.fleet import Fleet
from tests.consumer.ledger import Tally, settle, stored_count, until, wait_stored
from tests.consumer.load import LoadStarter
from tests.support import unique


def test_postgres_restart_under_load(
    fleet: Fleet, start_load: LoadStarter, stack_restored: Stack, record: list[Tally]
) -> None:
    prefix = unique("pg")
    load = start_load(prefix, devices=50, minutes=400, pace_s=0.3)  # outlasts the outage; finished after
    c1 = fleet.start("c1")
    pid = c1.pid
    fleet.wait_metrics("c1")
    with fleet.db() as db:
        until(lambda: stored_count(db, prefix) >= 600, 60, "readings stored before the outage")
    stack_restored.postgres.stop()
    down_at, down_from = time.monotonic(), load.acked()
    until(lambda: fleet.metric("c1", "consumer_retries_total", {"cause": "database"}) >= 2, 30, "c1 retries")
    load.wait_acked(down_from + 1500, "the gateway keeps acknowledging while the database is away")
    assert fleet.metric("c1", "consumer_paused") == 1, "partitions paused while the database is away"
    stack_restored.postgres.start()
    started, target = time.monotonic(), load.acked()
    outage = started - down_at
    with fleet.db() as db:
        wait_stored(db, prefix, target)
    recovery = time.monotonic() - started
    load.finish()
    assert fleet.metric("c1", "consumer_paused") == 0
    fleet.assert_alive()
    assert c1.alive(), c1.tail()
    assert c1.pid == pid, "no crash, no restart: the same process recovered by itself"
    row = settle("3 PostgreSQL restart", fleet, load, prefix, recovery)
    retries = int(fleet.metric("c1", "consumer_retries_total", {"cause": "database"}))
    row.note = f"database down {outage:.0f}s; {retries} write retries by the same process, no restart"
    record.append(row)


def test_kafka_broker_restart_under_load(
    fleet: Fleet, start_load: LoadStarter, stack_restored: Stack, record: list[Tally]
) -> None:
    prefix = unique("kb")
    load = start_load(prefix, devices=50, minutes=400, pace_s=0.3)  # outlasts the outage; finished after
    c1 = fleet.start("c1")
    with fleet.db() as db:
        until(lambda: stored_count(db, prefix) >= 600, 60, "readings stored before the outage")
    stack_restored.kafka.kill()  # a crash, not a clean shutdown
    down_at = time.monotonic()
    until(lambda: load.retries >= 3, 60, "devices see 503 and retry while Kafka is down")
    stack_restored.kafka.start()
    started = time.monotonic()
    acked_at_restart = load.acked()
    until(lambda: load.acked() > acked_at_restart, 60, "the gateway acknowledges again")
    with fleet.db() as db:
        wait_stored(db, prefix, load.acked())
    recovery = time.monotonic() - started
    outage = started - down_at
    load.finish()
    assert c1.alive(), c1.tail()
    row = settle("4 Kafka broker restart", fleet, load, prefix, recovery)
    row.note = f"broker killed, down {outage:.0f}s; {load.retries} device retries (503 or no answer)"
    record.append(row)


def test_sigterm_and_start_while_postgres_is_down(
    fleet: Fleet, start_load: LoadStarter, stack_restored: Stack, record: list[Tally]
) -> None:
    prefix = unique("tm")
    load = start_load(prefix, devices=25, minutes=40, pace_s=0.25)
    fleet.start("c1")
    fleet.wait_metrics("c1")
    with fleet.db() as db:
        until(lambda: stored_count(db, prefix) >= 300, 60, "readings stored before the outage")
    stack_restored.postgres.stop()
    until(lambda: fleet.metric("c1", "consumer_retries_total", {"cause": "database"}) >= 1, 30, "c1 retries")
    asked = time.monotonic()
    assert fleet.stop("c1") == 0, "SIGTERM during an outage: the batch is abandoned, the exit clean"
    took = time.monotonic() - asked
    assert took < 5, f"stopping took {took:.1f} s"
    c1 = fleet.start("c1")  # a replica starting while the database is away waits for it
    fleet.wait_metrics("c1")
    until(
        lambda: fleet.metric("c1", "consumer_retries_total", {"cause": "database"}) >= 2, 30, "new c1 waits"
    )
    assert c1.alive(), c1.tail()
    stack_restored.postgres.start()
    started = time.monotonic()
    with fleet.db() as db:
        wait_stored(db, prefix, load.acked())
    row = settle("3b SIGTERM+start, DB down", fleet, load, prefix, time.monotonic() - started)
    row.note = f"stop took {took:.1f}s with the database away; the new replica waited, then caught up"
    record.append(row)


def test_start_while_kafka_is_down(
    fleet: Fleet, start_load: LoadStarter, stack_restored: Stack, record: list[Tally]
) -> None:
    prefix = unique("ks")
    stack_restored.kafka.stop()
    c1 = fleet.start("c1")  # a replica started before the broker is up waits for it

    def retries() -> int:
        return c1.tail(200).count("kafka unreachable at start, retrying")

    until(lambda: retries() >= 3, 30, "c1 retries the broker, again and again")
    assert c1.alive(), c1.tail()
    stack_restored.kafka.start()
    started = time.monotonic()
    load = start_load(prefix, devices=25, minutes=20, pace_s=0.25)
    with fleet.db() as db:
        until(lambda: stored_count(db, prefix) >= 100, 90, "readings stored once the broker is back")
        wait_stored(db, prefix, load.acked())
    assert c1.alive(), c1.tail()
    row = settle("4b start, Kafka down", fleet, load, prefix, time.monotonic() - started)
    row.note = "the replica started with the broker away, retried it, then stored every reading"
    record.append(row)
