"""The books of a fault test: what was acknowledged against what PostgreSQL holds."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from tests.consumer.fleet import Fleet
from tests.consumer.load import Key, Load, assert_no_load_failed
from tests.support import iso

Conn = psycopg.Connection[tuple[Any, ...]]

HISTORY = {"meter": ("meter_telemetry", "meter_id"), "vehicle": ("vehicle_telemetry", "vehicle_id")}


@dataclass
class Tally:
    """One row of the fault table."""

    test: str
    acknowledged: int
    stored: int
    duplicates: int
    lost: int
    rejects: int = 0
    recovery_s: float | None = None
    note: str = ""

    def line(self) -> str:
        rec = "-" if self.recovery_s is None else f"{self.recovery_s:.1f}"
        return (
            f"{self.test:<28} acknowledged={self.acknowledged:<6} stored={self.stored:<6} "
            f"duplicates={self.duplicates} lost={self.lost} rejects={self.rejects} recovery_s={rec}"
            + (f"  ({self.note})" if self.note else "")
        )


def stored_keys(db: Conn, prefix: str) -> list[Key]:
    """Every history row of devices starting with ``prefix``, duplicates included."""
    keys: list[Key] = []
    for kind, (table, col) in HISTORY.items():
        query = sql.SQL("SELECT {c}, ts FROM {t} WHERE {c} LIKE %s").format(
            c=sql.Identifier(col), t=sql.Identifier(table)
        )
        rows = db.execute(query, (prefix + "%",)).fetchall()
        keys += [(kind, device, iso(ts)) for device, ts in rows]
    return keys


def _total(db: Conn, what: str, tables: list[tuple[str, str]], prefix: str) -> int:
    total = 0
    for table, col in tables:
        query = sql.SQL("SELECT coalesce({w}, 0) FROM {t} WHERE {c} LIKE %s").format(
            w=sql.SQL(what), t=sql.Identifier(table), c=sql.Identifier(col)
        )
        row = db.execute(query, (prefix + "%",)).fetchone()
        total += int(row[0]) if row else 0
    return total


def stored_count(db: Conn, prefix: str) -> int:
    """History rows of the devices starting with ``prefix``."""
    return _total(db, "count(*)", list(HISTORY.values()), prefix)


def rollup_samples(db: Conn, prefix: str) -> int:
    """Readings counted by the hourly rollups of those devices."""
    return _total(
        db, "sum(samples)", [("meter_hourly", "meter_id"), ("vehicle_hourly", "vehicle_id")], prefix
    )


def tally(test: str, db: Conn, prefix: str, acknowledged: set[Key]) -> Tally:
    """Compare exactly: lost = acknowledged but not stored; duplicates = a reading held
    twice in history, or counted more than once in the hourly rollups."""
    keys = stored_keys(db, prefix)
    distinct = set(keys)
    duplicates = (len(keys) - len(distinct)) + max(0, rollup_samples(db, prefix) - len(distinct))
    return Tally(
        test=test,
        acknowledged=len(acknowledged),
        stored=len(distinct),
        duplicates=duplicates,
        lost=len(acknowledged - distinct),
    )


def wait_stored(db: Conn, prefix: str, target: int, timeout: float = 120.0) -> float:
    """Poll until ``target`` rows of ``prefix`` are stored; returns the seconds it took."""
    started = time.monotonic()
    deadline = started + timeout
    last = -1
    while time.monotonic() < deadline:
        last = stored_count(db, prefix)
        if last >= target:
            return time.monotonic() - started
        assert_no_load_failed()
        time.sleep(0.1)
    raise AssertionError(f"only {last} of {target} readings stored after {timeout} s")


def until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.1) -> float:
    """Poll ``check`` until true; returns the seconds it took. Fails at once if a
    running load failed."""
    started = time.monotonic()
    while not check():
        assert_no_load_failed()
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(every)
    return time.monotonic() - started


def _cols(alias: str, names: list[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(alias, n) for n in names)


def status_mismatches(history: str, status: str, col: str, fields: list[str]) -> sql.Composed:
    """Devices whose status row is not their newest history row (or is missing)."""
    return sql.SQL(
        """
        WITH newest AS (
            SELECT DISTINCT ON ({col}) {col}, ts, {fields}
            FROM {history} WHERE {col} LIKE %(p)s ORDER BY {col}, ts DESC
        )
        SELECT count(*) FROM newest n
        FULL JOIN (SELECT * FROM {status} WHERE {col} LIKE %(p)s) s USING ({col})
        WHERE s.ts IS DISTINCT FROM n.ts OR ({s_fields}) IS DISTINCT FROM ({n_fields})
        """
    ).format(
        col=sql.Identifier(col),
        fields=sql.SQL(", ").join(map(sql.Identifier, fields)),
        history=sql.Identifier(history),
        status=sql.Identifier(status),
        s_fields=_cols("s", fields),
        n_fields=_cols("n", fields),
    )


def rollup_mismatches(history: str, hourly: str, col: str, aggs: dict[str, tuple[str, str]]) -> sql.Composed:
    """(device, hour) pairs whose rollup differs from the aggregate over history."""
    return sql.SQL(
        """
        WITH agg AS (
            SELECT {col}, date_trunc('hour', ts, 'UTC') AS hour, {aggs}, count(*) AS samples
            FROM {history} WHERE {col} LIKE %(p)s GROUP BY 1, 2
        )
        SELECT count(*) FROM agg a
        FULL JOIN (SELECT * FROM {hourly} WHERE {col} LIKE %(p)s) h USING ({col}, hour)
        WHERE ({a_cols}, a.samples) IS DISTINCT FROM ({h_cols}, h.samples)
        """
    ).format(
        col=sql.Identifier(col),
        aggs=sql.SQL(", ").join(
            sql.SQL("{}({}) AS {}").format(sql.SQL(fn), sql.Identifier(src), sql.Identifier(name))
            for name, (fn, src) in aggs.items()
        ),
        history=sql.Identifier(history),
        hourly=sql.Identifier(hourly),
        a_cols=_cols("a", list(aggs)),
        h_cols=_cols("h", list(aggs)),
    )


def running_mismatches(history: str, hourly: str, col: str, energy: str, temp: bool) -> sql.Composed:
    """Hourly rows whose running totals (kwh_through, samples_through, and with ``temp``
    battery_temp_through) differ from the device's history summed up to the end of that
    hour (or rows on one side only)."""
    return sql.SQL(
        """
        WITH agg AS (
            SELECT {col}, date_trunc('hour', ts, 'UTC') AS hour, sum({energy}) AS kwh, count(*) AS n,
                   {temp_sum} AS temp
            FROM {history} WHERE {col} LIKE %(p)s GROUP BY 1, 2
        ),
        running AS (
            SELECT {col}, hour,
                   sum(kwh) OVER (PARTITION BY {col} ORDER BY hour) AS kwh,
                   sum(n) OVER (PARTITION BY {col} ORDER BY hour) AS n,
                   sum(temp) OVER (PARTITION BY {col} ORDER BY hour) AS temp
            FROM agg
        )
        SELECT count(*) FROM running r
        FULL JOIN (SELECT * FROM {hourly} WHERE {col} LIKE %(p)s) h USING ({col}, hour)
        WHERE (r.kwh, r.n, r.temp) IS DISTINCT FROM (h.kwh_through, h.samples_through, {temp_through})
        """
    ).format(
        col=sql.Identifier(col),
        energy=sql.Identifier(energy),
        history=sql.Identifier(history),
        hourly=sql.Identifier(hourly),
        temp_sum=sql.SQL("sum(battery_temp)" if temp else "NULL::numeric"),
        temp_through=sql.SQL("h.battery_temp_through" if temp else "NULL::numeric"),
    )


_STATUS = {
    "meter": ("meter_telemetry", "meter_status", "meter_id", ["kwh_consumed_ac", "voltage"]),
    "vehicle": (
        "vehicle_telemetry",
        "vehicle_status",
        "vehicle_id",
        ["soc", "kwh_delivered_dc", "battery_temp"],
    ),
}
_ROLLUP: dict[str, tuple[str, str, str, dict[str, tuple[str, str]]]] = {
    "meter": (
        "meter_telemetry",
        "meter_hourly",
        "meter_id",
        {
            "kwh_consumed_ac": ("sum", "kwh_consumed_ac"),
            "voltage_min": ("min", "voltage"),
            "voltage_max": ("max", "voltage"),
        },
    ),
    "vehicle": (
        "vehicle_telemetry",
        "vehicle_hourly",
        "vehicle_id",
        {
            "kwh_delivered_dc": ("sum", "kwh_delivered_dc"),
            "battery_temp_sum": ("sum", "battery_temp"),
            "battery_temp_max": ("max", "battery_temp"),
            "soc_min": ("min", "soc"),
            "soc_max": ("max", "soc"),
        },
    ),
}


def consistency(db: Conn, prefix: str) -> dict[str, int]:
    """Rows where hot status or hourly rollups disagree with history (all zero if sound).

    Status must be the newest reading of its device; each hourly rollup must equal the
    aggregate over the history rows of that hour (energy sums exact, as numeric), and its
    running totals the device's history up to the end of that hour.
    """
    out: dict[str, int] = {}
    for kind, (history, status, col, fields) in _STATUS.items():
        row = db.execute(status_mismatches(history, status, col, fields), {"p": prefix + "%"}).fetchone()
        out[f"{kind}_status"] = int(row[0]) if row else -1
    for kind, (history, hourly, col, aggs) in _ROLLUP.items():
        row = db.execute(rollup_mismatches(history, hourly, col, aggs), {"p": prefix + "%"}).fetchone()
        out[f"{kind}_rollup"] = int(row[0]) if row else -1
        energy = next(name for name in aggs if name.startswith("kwh_"))
        query = running_mismatches(history, hourly, col, energy, temp=kind == "vehicle")
        row = db.execute(query, {"p": prefix + "%"}).fetchone()
        out[f"{kind}_running"] = int(row[0]) if row else -1
    return out


def settle(test: str, fleet: Fleet, load: Load, prefix: str, recovery_s: float | None = None) -> Tally:
    """Wait for the load and the group to catch up; count, check, print and assert.

    Asserts ``acknowledged = stored``, ``duplicates = 0`` and ``lost = 0``, hot status and
    rollups consistent with history, the rollups' voltage sums equal to those of the
    readings acknowledged, every partition's stored offset at the topic's end
    (no partition stalls), that the group's offsets moved over exactly the messages
    of the load (nothing skipped, nothing counted twice), and that no replica skipped
    records as gone from Kafka.
    """
    load.wait()
    with fleet.db() as db:
        wait_stored(db, prefix, len(load.acknowledged))
        until(lambda: not fleet.lagging(), 60, "group caught up with the topics")
        row = tally(test, db, prefix, load.acknowledged)
        row.recovery_s = recovery_s
        print(row.line())
        assert consistency(db, prefix) == CONSISTENT
        wrong = voltage_sum_mismatches(db, prefix, load.sent.values())
        assert not wrong, f"{len(wrong)} meter_hourly voltage sums differ from the readings sent: {wrong[:3]}"
    assert (row.stored, row.duplicates, row.lost) == (row.acknowledged, 0, 0), row.line()
    assert fleet.consumed() >= len(load.acknowledged)
    assert fleet.skipped_records() == [], "a replica skipped records it had read itself"
    return row


def voltage_sum_mismatches(db: Conn, prefix: str, sent: Iterable[dict[str, Any]]) -> list[str]:
    """(meter, hour) rollups whose ``voltage_sum`` or ``samples`` differ from the meter
    readings ``sent`` (or exist on one side only).

    The expected sums come from the readings themselves, in Python, not from history: a
    float sum, so compared to 1e-9 relative (summation order differs), which is far
    tighter than one reading more or less, or a voltage stored with less precision.
    """
    expected: dict[tuple[str, datetime], list[float]] = defaultdict(list)
    for r in sent:
        if r["type"] == "meter":
            at = datetime.fromisoformat(r["timestamp"]).astimezone(UTC)
            hour = at.replace(minute=0, second=0, microsecond=0)
            expected[(r["meterId"], hour)].append(float(r["voltage"]))
    rows = db.execute(
        "SELECT meter_id, hour, voltage_sum, samples FROM meter_hourly WHERE meter_id LIKE %s",
        (prefix + "%",),
    ).fetchall()
    stored = {(m, h.astimezone(UTC)): (float(v), int(n)) for m, h, v, n in rows}
    wrong = []
    for key in expected.keys() | stored.keys():
        volts = expected.get(key, [])
        want, got = (math.fsum(volts), len(volts)), stored.get(key)
        if got is None or got[1] != want[1] or not math.isclose(got[0], want[0], rel_tol=1e-9):
            wrong.append(f"{key[0]} {key[1]:%Y-%m-%d %H}h: stored {got}, sent {want}")
    return sorted(wrong)


CONSISTENT = {
    "meter_status": 0,
    "vehicle_status": 0,
    "meter_rollup": 0,
    "vehicle_rollup": 0,
    "meter_running": 0,
    "vehicle_running": 0,
}
