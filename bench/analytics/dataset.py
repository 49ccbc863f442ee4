"""The benchmark's data set, generated inside PostgreSQL with ``generate_series``.

Device ``i`` (1-based) is meter ``m-000i`` feeding vehicle ``v-000i``; both report once a
minute. Every value is a cheap deterministic function of the device number ``i`` and the
minute number ``g`` (minutes since :data:`ANCHOR`), so a day can be (re)generated in any
order and any chunking and always gives the same rows:

- meter: ``kwh_consumed_ac`` 0.0500 .. 0.1508 kWh per minute (3 to 9 kW), four decimals;
  voltage 225 .. 235 V;
- vehicle: ``kwh_delivered_dc`` = the AC energy of meter ``i`` in the same minute times the
  vehicle's efficiency (0.87 .. 0.93, or 0.80 for every 250th vehicle) and a per-minute
  noise of +-1 %, four decimals; SoC cycles 10 .. 95 % once a day; battery 25.0 .. 40.0 C.

Rows are written in time order (every device's reading of one minute, then the next
minute), as the consumer writes them, so one device's readings of an hour lie on about
60 different heap pages, not on one. Each chunk (one hour of one stream) is one
statement that inserts the readings and adds them to the hourly rollups from its
``RETURNING`` rows: the consumer's own aggregates (``merge_meter.sql``,
``merge_vehicle.sql``), grouped by device and ``date_trunc('hour', ts, 'UTC')``.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from tqdm import tqdm

from sql import query as named_query

ANCHOR = datetime(2025, 1, 1, tzinfo=UTC)
"""Minute numbers ``g`` count from here; the oldest loadable day."""

NEWEST_DAY = date(2025, 1, 7)
"""The newest day of history; more days extend the history backwards from it."""

MINUTES_PER_DAY = 1440
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

STREAMS = ("meter", "vehicle")

# Column expressions over ``s(i, g, ts)``; ``%%`` is a literal ``%`` (the statements take parameters).
_METER_COLUMNS = {
    "meter_id": "'m-' || lpad(s.i::text, %(width)s, '0')",
    "ts": "s.ts",
    "kwh_consumed_ac": "(500 + (s.i * 7919 + s.g * 104729) %% 1009) * 0.0001",
    "voltage": "230 + ((s.i * 31 + s.g * 17) %% 101 - 50) * 0.1",
    "received_at": "s.ts + interval '2 seconds'",
    "kafka_partition": "(s.i %% 12)::integer",
    "kafka_offset": "s.g",
}
_VEHICLE_COLUMNS = {
    "vehicle_id": "'v-' || lpad(s.i::text, %(width)s, '0')",
    "ts": "s.ts",
    "soc": "10 + ((s.g + s.i * 13) %% 1440) * (85.0 / 1440)",
    "kwh_delivered_dc": (
        "round((500 + (s.i * 7919 + s.g * 104729) %% 1009) * 0.0001"
        " * CASE WHEN s.i %% 250 = 7 THEN 0.80 ELSE 0.90 + ((s.i * 37) %% 7 - 3) * 0.01 END"
        " * (1 + ((s.i * 131 + s.g * 71) %% 21 - 10) * 0.001), 4)"
    ),
    "battery_temp": "25 + ((s.i * 7 + s.g * 3) %% 151) * 0.1",
    "received_at": "s.ts + interval '2 seconds'",
    "kafka_partition": "(s.i %% 12)::integer",
    "kafka_offset": "s.g",
}

# ``rows`` readings: ``n`` devices per minute, from minute ``g0`` at time ``t0``.
_SOURCE = """
    SELECT 1 + k %% %(n)s::bigint AS i,
           %(g0)s::bigint + k / %(n)s::bigint AS g,
           %(t0)s::timestamptz + (k / %(n)s::bigint) * interval '1 minute' AS ts
    FROM generate_series(0::bigint, %(rows)s::bigint - 1) AS k
"""

# The consumer's rollup aggregates (merge_meter.sql / merge_vehicle.sql), from the inserted rows.
_ROLLUP = {
    "meter": """
        INSERT INTO meter_hourly
            (meter_id, hour, kwh_consumed_ac, voltage_min, voltage_max, voltage_sum, samples)
        SELECT meter_id, date_trunc('hour', ts, 'UTC'), sum(kwh_consumed_ac), min(voltage),
               max(voltage), sum(voltage), count(*)
        FROM ins
        GROUP BY 1, 2
    """,
    "vehicle": """
        INSERT INTO vehicle_hourly
            (vehicle_id, hour, kwh_delivered_dc, battery_temp_sum, battery_temp_max, soc_min,
             soc_max, samples)
        SELECT vehicle_id, date_trunc('hour', ts, 'UTC'), sum(kwh_delivered_dc), sum(battery_temp),
               max(battery_temp), min(soc), max(soc), count(*)
        FROM ins
        GROUP BY 1, 2
    """,
}
# The daily rollups of the loaded days, from their hourly rollups (as migration 0011 backfills
# them; a consumer before 0018 adds each batch's inserted rows to both in the same statement).
_DAILY = {
    "meter": """
        INSERT INTO meter_daily
            (meter_id, day, kwh_consumed_ac, voltage_min, voltage_max, voltage_sum, samples)
        SELECT meter_id, date_trunc('day', hour, 'UTC'), sum(kwh_consumed_ac), min(voltage_min),
               max(voltage_max), sum(voltage_sum), sum(samples)
        FROM meter_hourly
        WHERE (hour AT TIME ZONE 'UTC')::date = ANY(%(days)s::date[])
        GROUP BY 1, 2
    """,
    "vehicle": """
        INSERT INTO vehicle_daily
            (vehicle_id, day, kwh_delivered_dc, battery_temp_sum, battery_temp_max, soc_min,
             soc_max, samples)
        SELECT vehicle_id, date_trunc('day', hour, 'UTC'), sum(kwh_delivered_dc), sum(battery_temp_sum),
               max(battery_temp_max), min(soc_min), max(soc_max), sum(samples)
        FROM vehicle_hourly
        WHERE (hour AT TIME ZONE 'UTC')::date = ANY(%(days)s::date[])
        GROUP BY 1, 2
    """,
}
# Every hourly row's running totals (migration 0017 backfills them the same way; the
# consumer keeps them batch by batch), recomputed over all days after a load, which may
# have added days before stored ones.
_THROUGH = {  # stream: (running total, the hour's own value) for each total
    "meter": (("kwh_through", "kwh_consumed_ac"), ("samples_through", "samples")),
    "vehicle": (
        ("kwh_through", "kwh_delivered_dc"),
        ("samples_through", "samples"),
        ("battery_temp_through", "battery_temp_sum"),
    ),
}
RUNNING_TOTALS = {
    stream: f"""
        UPDATE {stream}_hourly h
        SET {", ".join(f"{total} = r.{total}" for total, _ in pairs)}
        FROM (
            SELECT {stream}_id, hour,
                   {", ".join(f"sum({own}) OVER w AS {total}" for total, own in pairs)}
            FROM {stream}_hourly
            WINDOW w AS (PARTITION BY {stream}_id ORDER BY hour)
        ) r
        WHERE h.{stream}_id = r.{stream}_id AND h.hour = r.hour
          AND ({", ".join(f"h.{total}" for total, _ in pairs)})
              IS DISTINCT FROM ({", ".join(f"r.{total}" for total, _ in pairs)})
    """
    for stream, pairs in _THROUGH.items()
}
_RETURNING = {
    "meter": "meter_id, ts, kwh_consumed_ac, voltage",
    "vehicle": "vehicle_id, ts, soc, kwh_delivered_dc, battery_temp",
}


def _columns(stream: str) -> dict[str, str]:
    return _METER_COLUMNS if stream == "meter" else _VEHICLE_COLUMNS


def chunk_statement(stream: str) -> str:
    """One hour of one stream: insert the readings, add them to the hourly rollups."""
    cols = _columns(stream)
    return (
        f"WITH ins AS (INSERT INTO {stream}_telemetry ({', '.join(cols)})"
        f" SELECT {', '.join(cols.values())} FROM ({_SOURCE}) AS s"
        f" RETURNING {_RETURNING[stream]})"
        f"{_ROLLUP[stream]}"
    )


def status_statement(stream: str) -> str:
    """Every device's newest reading into the hot status table (left alone if already there)."""
    cols = {k: v for k, v in _columns(stream).items() if not k.startswith("kafka_")}
    key = f"{stream}_id"
    return (
        f"INSERT INTO {stream}_status ({', '.join(cols)}, updated_at)"
        f" SELECT {', '.join(cols.values())}, now() FROM ({_SOURCE}) AS s"
        f" ON CONFLICT ({key}) DO NOTHING"
    )


@dataclass(frozen=True, slots=True)
class Swap:
    """Meters ``a`` and ``b`` swap vehicles at ``at`` (inside an hour of the newest day)."""

    a: int
    b: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Fleet:
    """``devices`` meters and vehicles, and the days of history they may have."""

    devices: int

    @property
    def width(self) -> int:
        """Digits of a device number in its id (zero padded, so text order is numeric order)."""
        return max(5, len(str(self.devices)))

    def vehicle(self, i: int) -> str:
        """The id of vehicle ``i``."""
        return f"v-{i:0{self.width}d}"

    def meter(self, i: int) -> str:
        """The id of meter ``i``."""
        return f"m-{i:0{self.width}d}"

    @staticmethod
    def days(count: int) -> list[date]:
        """The ``count`` newest days of history, oldest first."""
        if not 1 <= count <= (NEWEST_DAY - ANCHOR.date()).days + 1:
            raise ValueError(f"between 1 and {(NEWEST_DAY - ANCHOR.date()).days + 1} days of history")
        return [NEWEST_DAY - timedelta(days=k) for k in range(count - 1, -1, -1)]

    @staticmethod
    def history(count: int) -> tuple[datetime, datetime]:
        """``[start, end)`` of ``count`` days of history."""
        end = datetime.combine(NEWEST_DAY, datetime.min.time(), UTC) + DAY
        return end - count * DAY, end

    @property
    def swaps(self) -> list[Swap]:
        """A few pairs of meters that swap vehicles mid-day, inside an hour (up to 5 pairs)."""
        pairs = min(5, self.devices // 2)
        if pairs == 0:
            return []
        step = self.devices // pairs
        start = datetime.combine(NEWEST_DAY, datetime.min.time(), UTC)
        return [
            Swap(1 + k * step, 2 + k * step, start + (1 + 4 * k) * HOUR + timedelta(minutes=29, seconds=30))
            for k in range(pairs)
        ]

    @property
    def rows_per_day(self) -> int:
        """Readings per stream per day."""
        return self.devices * MINUTES_PER_DAY

    def chunk_params(self, hour: datetime) -> dict[str, Any]:
        """Parameters of :func:`chunk_statement` for the hour starting at ``hour``."""
        return {
            "n": self.devices,
            "width": self.width,
            "g0": int((hour - ANCHOR) / timedelta(minutes=1)),
            "t0": hour,
            "rows": self.devices * 60,
        }

    def status_params(self, newest: datetime) -> dict[str, Any]:
        """Parameters of :func:`status_statement`: one reading per device at ``newest``."""
        return {
            "n": self.devices,
            "width": self.width,
            "g0": int((newest - ANCHOR) / timedelta(minutes=1)),
            "t0": newest,
            "rows": self.devices,
        }


def _has_table(conn: psycopg.Connection[tuple[Any, ...]], name: str) -> bool:
    """Whether ``name`` is a table (plain or partitioned; a view is not)."""
    row = conn.execute(
        "SELECT EXISTS (SELECT FROM pg_class WHERE oid = to_regclass(%s) AND relkind IN ('r', 'p'))", (name,)
    ).fetchone()
    return bool(row and row[0])


def has_daily(conn: psycopg.Connection[tuple[Any, ...]]) -> bool:
    """Whether the schema keeps daily rollup tables (migrations 0011 to 0017: an older checkout
    has none, and from 0018 on they are views over the hourly rollups)."""
    return _has_table(conn, "meter_daily")


def has_running_totals(conn: psycopg.Connection[tuple[Any, ...]]) -> bool:
    """Whether the hourly rollups hold running totals (migration 0017)."""
    row = conn.execute(
        "SELECT count(*) FROM information_schema.columns"
        " WHERE table_name = 'meter_hourly' AND column_name = 'kwh_through'"
    ).fetchone()
    return bool(row and row[0])


def has_compaction(conn: psycopg.Connection[tuple[Any, ...]]) -> bool:
    """Whether the schema compacts closed days' hourly rollups (migration 0016)."""
    return _has_table(conn, "rollup_compactions")


def partition_names(day: date) -> list[str]:
    """The two history partitions of ``day`` (named as ``ensure_day_partitions`` names them)."""
    return [f"{stream}_telemetry_{day:%Y%m%d}" for stream in STREAMS]


def in_parallel(jobs: int, name: str, work: Callable[[], None], errors: list[BaseException]) -> None:
    """Run ``work`` in ``jobs`` threads; each stops when ``errors`` is not empty (its own failure,
    another's, or an interruption of the caller), and the first error is raised."""
    threads = [threading.Thread(target=work, name=f"{name}-{k}", daemon=True) for k in range(jobs)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    except BaseException as exc:  # Ctrl-C or SIGTERM: the workers stop after their statement
        errors.append(exc)
        raise
    if errors:
        raise errors[0]


@dataclass
class LoadPhase:
    """What one loading phase did and how long it took."""

    days: list[date]
    rows: int = 0
    insert_s: float = 0.0
    vacuum_s: float = 0.0
    database_bytes: int = 0

    @property
    def rows_per_s(self) -> float:
        """Readings (both streams, rollups included) per second of inserting."""
        return self.rows / self.insert_s if self.insert_s else 0.0


@dataclass
class State:
    """Which days a data folder holds, so that ``--dir ... --keep`` runs can be resumed."""

    path: Path
    devices: int
    days: set[date] = field(default_factory=set)
    mapping: bool = False
    status: bool = False

    @classmethod
    def load(cls, path: Path, devices: int) -> State:
        """The state in ``path``, or an empty one; refuses a folder loaded with another fleet size."""
        if not path.exists():
            return cls(path, devices)
        raw = json.loads(path.read_text())
        if raw["devices"] != devices:
            raise SystemExit(
                f"{path.parent} holds a data set of {raw['devices']} devices, not {devices}; "
                "use another --dir or the same --devices"
            )
        return cls(
            path,
            devices,
            {date.fromisoformat(d) for d in raw["days"]},
            bool(raw.get("mapping")),
            bool(raw.get("status")),
        )

    def save(self) -> None:
        """Write the state (after each completed step)."""
        body = {
            "devices": self.devices,
            "days": sorted(d.isoformat() for d in self.days),
            "mapping": self.mapping,
            "status": self.status,
        }
        self.path.write_text(json.dumps(body, indent=1) + "\n")


class Loader:
    """Loads days of history into one database through ``jobs`` parallel connections."""

    def __init__(self, admin_url: str, fleet: Fleet, state: State, jobs: int) -> None:
        self.admin_url = admin_url
        self.fleet = fleet
        self.state = state
        self.jobs = jobs

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        conn = psycopg.connect(self.admin_url, autocommit=True)
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET TimeZone = 'UTC'")
        return conn

    def load_mapping(self) -> None:
        """Meter ``i`` feeds vehicle ``i`` for all time, but for the swapped pairs (two ranges each)."""
        if self.state.mapping:
            return
        fleet = self.fleet
        swapped = {i for s in fleet.swaps for i in (s.a, s.b)}
        rows: list[tuple[str, str, datetime | None, datetime | None]] = []
        for i in range(1, fleet.devices + 1):
            if i not in swapped:
                rows.append((fleet.meter(i), fleet.vehicle(i), None, None))
        for s in fleet.swaps:
            rows += [
                (fleet.meter(s.a), fleet.vehicle(s.a), None, s.at),
                (fleet.meter(s.a), fleet.vehicle(s.b), s.at, None),
                (fleet.meter(s.b), fleet.vehicle(s.b), None, s.at),
                (fleet.meter(s.b), fleet.vehicle(s.a), s.at, None),
            ]
        with self._connect() as conn, conn.cursor() as cur:
            cur.execute("TRUNCATE smart_meter_mapping")
            cur.executemany(
                "INSERT INTO smart_meter_mapping (meter_id, vehicle_id, valid)"
                " VALUES (%s, %s, tstzrange(%s, %s, '[)'))",
                rows,
            )
        self.state.mapping = True
        self.state.save()

    def load_status(self) -> None:
        """Every device's newest reading (the last minute of the newest day) as its status."""
        if self.state.status:
            return
        _, end = Fleet.history(1)
        with self._connect() as conn:
            for stream in STREAMS:
                conn.execute(status_statement(stream), self.fleet.status_params(end - timedelta(minutes=1)))
        self.state.status = True
        self.state.save()

    def load_days(self, days: Iterable[date], progress: Callable[[str], None] = print) -> LoadPhase:
        """Load the given days (those not loaded yet), then VACUUM ANALYZE what changed."""
        todo = sorted(d for d in days if d not in self.state.days)
        phase = LoadPhase(todo)
        if not todo:
            return phase
        self._prepare(todo)
        tasks: queue.Queue[tuple[str, datetime]] = queue.Queue()
        for day in todo:
            start = datetime.combine(day, datetime.min.time(), UTC)
            for h in range(24):
                for stream in STREAMS:
                    tasks.put((stream, start + h * HOUR))
        chunk_rows = self.fleet.devices * 60
        total = tasks.qsize() * chunk_rows
        label = f"loading {len(todo)} day(s) {todo[0]}..{todo[-1]}"
        bar = tqdm(total=total, unit="row", unit_scale=True, desc=label, smoothing=0.1, mininterval=2.0)
        errors: list[BaseException] = []
        lock = threading.Lock()

        def work() -> None:
            try:
                with self._connect() as conn:
                    while not errors:
                        try:
                            stream, hour = tasks.get_nowait()
                        except queue.Empty:
                            return
                        conn.execute(chunk_statement(stream), self.fleet.chunk_params(hour))
                        with lock:
                            bar.update(chunk_rows)
            except BaseException as exc:
                errors.append(exc)

        started = time.perf_counter()
        try:
            in_parallel(self.jobs, "load", work, errors)
        finally:
            bar.close()
        phase.insert_s = time.perf_counter() - started
        phase.rows = total
        progress(
            f"inserted {total:,} readings (+ rollups) in {phase.insert_s:.0f} s: "
            f"{phase.rows_per_s:,.0f} rows/s with {self.jobs} connection(s)"
        )
        started = time.perf_counter()
        self._finish(todo, progress)
        phase.vacuum_s = time.perf_counter() - started
        self.state.days.update(todo)
        self.state.save()
        with psycopg.connect(self.admin_url) as conn:
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        phase.database_bytes = int(size[0]) if size else 0
        return phase

    def _prepare(self, days: list[date]) -> None:
        """Partitions, empty (a half-loaded day from an interrupted run starts over), no autovacuum;
        a checkpoint distance that suits bulk loading (reset in :meth:`_finish`)."""
        with self._connect() as conn:
            conn.execute("SELECT ensure_day_partitions(%s::date[])", (days,))
            for day in days:
                for name in partition_names(day):
                    conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(name)))
                    conn.execute(
                        sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = off)").format(sql.Identifier(name))
                    )
                start = datetime.combine(day, datetime.min.time(), UTC)
                for stream in STREAMS:
                    conn.execute(
                        sql.SQL("DELETE FROM {} WHERE hour >= %s AND hour < %s").format(
                            sql.Identifier(f"{stream}_hourly")
                        ),
                        (start, start + DAY),
                    )
                    if has_daily(conn):
                        conn.execute(
                            sql.SQL("DELETE FROM {} WHERE day >= %s AND day < %s").format(
                                sql.Identifier(f"{stream}_daily")
                            ),
                            (start, start + DAY),
                        )
            conn.execute("ALTER SYSTEM SET max_wal_size = '8GB'")
            conn.execute("ALTER SYSTEM SET checkpoint_timeout = '30min'")
            conn.execute("SELECT pg_reload_conf()")

    def _finish(self, days: list[date], progress: Callable[[str], None]) -> None:
        """VACUUM ANALYZE the new partitions (in parallel) and the small tables; the server's
        own settings back; a checkpoint, so that none runs while latency is measured."""
        started = time.perf_counter()
        names: queue.Queue[str] = queue.Queue()
        for day in days:
            for name in partition_names(day):
                names.put(name)
        errors: list[BaseException] = []

        def work() -> None:
            try:
                with self._connect() as conn:
                    while not errors:
                        try:
                            name = names.get_nowait()
                        except queue.Empty:
                            return
                        ident = sql.Identifier(name)
                        conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(ident))
                        conn.execute(sql.SQL("ALTER TABLE {} RESET (autovacuum_enabled)").format(ident))
            except BaseException as exc:
                errors.append(exc)

        with self._connect() as conn:  # the days' daily rollups: the sums of their hours
            daily = has_daily(conn)
            for stream in STREAMS if daily else ():
                conn.execute(_DAILY[stream], {"days": days})
        with self._connect() as conn:
            running_from = time.perf_counter()
            running = has_running_totals(conn)
            for stream in STREAMS if running else ():
                conn.execute(RUNNING_TOTALS[stream])
        if running:
            took = time.perf_counter() - running_from
            progress(f"running totals of the hourly rollups set in {took:.0f} s")
        compacting_from = time.perf_counter()
        with self._connect() as conn:  # as the retention job does with each closed day
            compacting = has_compaction(conn)
            for day in days if compacting else ():
                conn.execute("DELETE FROM rollup_compactions WHERE day = %s", (day,))  # reloaded
                conn.execute(named_query("compact_rollups"), {"day": day})
        if compacting:
            took = time.perf_counter() - compacting_from
            progress(f"hourly rollups of {len(days)} day(s) compacted in {took:.0f} s")
        in_parallel(self.jobs, "vacuum", work, errors)
        with self._connect() as conn:
            for table in (
                "meter_hourly",
                "vehicle_hourly",
                *(("meter_daily", "vehicle_daily") if daily else ()),
                "meter_status",
                "vehicle_status",
                "smart_meter_mapping",
            ):
                conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
            for parent in ("meter_telemetry", "vehicle_telemetry"):  # partitioned parents: statistics only
                conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(parent)))
            conn.execute("ALTER SYSTEM RESET max_wal_size")
            conn.execute("ALTER SYSTEM RESET checkpoint_timeout")
            conn.execute("SELECT pg_reload_conf()")
            conn.execute("CHECKPOINT")
        progress(f"VACUUM ANALYZE and checkpoint in {time.perf_counter() - started:.0f} s")
