"""Helpers of the analytics tests: a throwaway PostgreSQL, databases, data loaders, clients.

The server runs as the ``postgres`` user when the tests run as root (initdb refuses
root), with password authentication on a free local port. Readings are loaded the way
the consumer stores them: COPY into its staging tables, then its real merge
(``consumer.writer.merge_staged``: history, status, rollups and their running totals), so
rollups are built exactly as in production.

The expected answers, though, never come from those tables: they are computed here in
plain Python from the generated readings and mappings (the *truth* functions at the
end), so a merge that stored something else than what was sent fails the tests.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import random
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from statistics import fmean
from typing import Any

import httpx
import psycopg
from fastapi import FastAPI
from psycopg import sql as pgsql

from analytics_api.settings import AnalyticsSettings
from common.tokens import Scope, issue
from consumer.writer import merge_staged
from energy_ingest.logins import ServiceRole, ensure_login
from energy_ingest.migrate import migrate
from sql import query

SECRET = "analytics-test-secret-" + "x" * 32
METER_TYPES = ["text", "timestamptz", "float8", "float8", "timestamptz", "int4", "int8"]
VEHICLE_TYPES = ["text", "timestamptz", "float8", "float8", "float8", "timestamptz", "int4", "int8"]
NOW = datetime(2024, 3, 12, 12, 0, tzinfo=UTC)
RECEIVED_AFTER = timedelta(seconds=2)  # the loader's receive time: two seconds after the reading

MeterRow = tuple[str, datetime, float, float]
"""meter id, reading time, kWh AC, volts"""
VehicleRow = tuple[str, datetime, float, float, float]
"""vehicle id, reading time, SoC, kWh DC, battery temperature"""


def bindir() -> Path | None:
    """The PostgreSQL server binaries of this machine, if any."""
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _wait_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start:\n{log.read_text()}") from None
            time.sleep(0.1)


@contextlib.contextmanager
def postgres_server(binaries: Path) -> Iterator[str]:
    """A fresh server; yields a superuser URL; stops it and deletes its files afterwards."""
    root = Path(tempfile.mkdtemp(prefix="analytics-pg-"))
    password = secrets.token_hex(16)
    (root / "pw").write_text(password)
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in (root, root / "pw"):
            os.chown(path, user.pw_uid, user.pw_gid)
    data = root / "data"
    subprocess.run(
        _as_postgres([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
                      f"--pwfile={root / 'pw'}", "--no-locale", "-E", "UTF8"]),
        check=True, capture_output=True,
    )  # fmt: skip
    port = _free_port()
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            _as_postgres([str(binaries / "postgres"), "-D", str(data), "-p", str(port), "-k", str(root),
                          "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                          "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
    try:
        _wait_ready(url, server, log_path)
        yield url
    finally:
        # the whole group: runuser does not pass SIGINT (fast shutdown) on to postgres
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class Database:
    """One migrated database and the URLs of its owner, reader and mapper users."""

    admin: str
    reader: str
    mapper: str


def create_database(admin_url: str, name: str) -> Database:
    """A new database with every migration applied and a reader and a mapper login."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    migrate(url)
    reader = ensure_login(url, "analytics_reader", "reader-pw", ServiceRole.READER)
    mapper = ensure_login(url, "analytics_mapper", "mapper-pw", ServiceRole.MAPPER)
    return Database(url, reader, mapper)


class Clock:
    """A settable clock for the app."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Loader:
    """Writes test data into one database as its owner."""

    def __init__(self, admin_url: str) -> None:
        self.url = admin_url

    async def readings(self, meters: Sequence[MeterRow] = (), vehicles: Sequence[VehicleRow] = ()) -> None:
        """Store one batch exactly as the consumer would (duplicates skipped, rollups updated)."""
        days = sorted(
            {ts.astimezone(UTC).date() for ts in [*(m[1] for m in meters), *(v[1] for v in vehicles)]}
        )
        async with await psycopg.AsyncConnection.connect(self.url) as conn:
            await conn.execute(query("ensure_partitions"), {"days": days, "day_months": 3, "max_new": 64})
            await conn.execute(query("stage_tables"))
            await conn.commit()
            async with conn.transaction(), conn.cursor() as cur:
                if meters:
                    async with cur.copy(query("copy_stage_meter")) as copy:
                        copy.set_types(METER_TYPES)
                        for i, (m, ts, kwh, volts) in enumerate(meters):
                            await copy.write_row((m, ts, kwh, volts, ts + RECEIVED_AFTER, 0, i))
                    await merge_staged(cur, "meter")
                if vehicles:
                    async with cur.copy(query("copy_stage_vehicle")) as copy:
                        copy.set_types(VEHICLE_TYPES)
                        for i, (v, ts, soc, kwh, temp) in enumerate(vehicles):
                            await copy.write_row((v, ts, soc, kwh, temp, ts + RECEIVED_AFTER, 1, i))
                    await merge_staged(cur, "vehicle")

    async def mapping(self, meter_id: str, vehicle_id: str, valid: str) -> None:
        """Insert a mapping range given as a tstzrange literal, e.g. ``[2024-01-01Z,)``."""
        await self.execute(
            "INSERT INTO smart_meter_mapping (meter_id, vehicle_id, valid) VALUES (%s, %s, %s::tstzrange)",
            (meter_id, vehicle_id, valid),
        )

    async def execute(self, statement: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """Run one statement as the owner; returns its rows (if any)."""
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            cur = await conn.execute(statement.encode(), params)
            return await cur.fetchall() if cur.description else []


def settings_for(db: Database, **overrides: object) -> AnalyticsSettings:
    """Settings of an app on ``db`` with authentication on."""
    values: dict[str, object] = {
        "database_url": db.reader,
        "mapping_database_url": db.mapper,
        "auth_secret": SECRET,
        "pool_min_size": 1,
        "pool_max_size": 4,
    }
    return AnalyticsSettings(**{**values, **overrides})  # type: ignore[arg-type]


def token(scope: Scope, subject: str = "tester") -> dict[str, str]:
    """An Authorization header for ``scope``."""
    return {"Authorization": f"Bearer {issue(SECRET, scope, subject)}"}


@contextlib.asynccontextmanager
async def serve(app: FastAPI, scope: Scope = Scope.ANALYST) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` (lifespan running) sending a ``scope`` token by default."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = token(scope)
        async with httpx.AsyncClient(transport=transport, base_url="http://analytics", headers=headers) as c:
            yield c


BASE = datetime(2024, 3, 10, tzinfo=UTC)
HOURS = 30
T_MOVE = BASE + timedelta(hours=13, minutes=27, seconds=13, microseconds=500_000)


@dataclass(frozen=True, slots=True)
class Span:
    """A mapping's validity range as a ``tstzrange`` holds it (``None``: unbounded)."""

    lower: datetime | None
    upper: datetime | None
    lower_inc: bool = True
    upper_inc: bool = False

    def literal(self) -> str:
        """The range literal, e.g. ``[2024-03-10 05:00:00+00:00,)``."""
        lo, hi = ("" if b is None else str(b) for b in (self.lower, self.upper))
        opening = "[" if self.lower_inc and self.lower is not None else "("
        closing = "]" if self.upper_inc and self.upper is not None else ")"
        return f"{opening}{lo},{hi}{closing}"

    def contains(self, t: datetime) -> bool:
        above = self.lower is None or t > self.lower or (self.lower_inc and t == self.lower)
        below = self.upper is None or t < self.upper or (self.upper_inc and t == self.upper)
        return above and below

    def clip(self, start: datetime, end: datetime) -> Span | None:
        """The intersection with ``[start, end)``; None if empty (a single shared
        inclusive instant is not empty)."""
        if self.lower is None or self.lower < start:
            lo, lo_inc = start, True
        else:
            lo, lo_inc = self.lower, self.lower_inc
        if self.upper is None or self.upper > end:
            hi, hi_inc = end, False
        elif self.upper < end:
            hi, hi_inc = self.upper, self.upper_inc
        else:
            hi, hi_inc = end, False
        if lo < hi or (lo == hi and lo_inc and hi_inc):
            return Span(lo, hi, lo_inc, hi_inc)
        return None

    def seconds(self) -> float:
        assert self.lower is not None
        assert self.upper is not None
        return (self.upper - self.lower).total_seconds()


MAPPINGS = (
    ("m-a1", "v-a", Span(None, None, False)),
    ("m-a2", "v-a", Span(BASE + timedelta(hours=5), None)),
    ("m-move", "v-a", Span(None, T_MOVE, False)),
    ("m-move", "v-b", Span(T_MOVE, None)),
    ("m-b1", "v-b", Span(BASE + timedelta(hours=2, minutes=17), BASE + timedelta(hours=20))),
    ("m-b2", "v-b", Span(BASE + timedelta(hours=3), BASE + timedelta(hours=4), False, True)),
    ("m-idle", "v-idle", Span(BASE + timedelta(hours=1), BASE + timedelta(hours=2))),
)
"""Mapping ranges of the main data set: a re-mapping inside an hour (m-move), a closed
range, a range with exclusive/inclusive ends on whole hours (m-b2), an idle vehicle."""


@dataclass(frozen=True, slots=True)
class Dataset:
    """What the main data set covers, and what was sent: each reading once, by device
    (the replays and duplicates loaded with it must change nothing)."""

    start: datetime
    end: datetime
    vehicles: tuple[str, ...]
    meters: tuple[str, ...]
    meter_readings: Mapping[str, tuple[MeterRow, ...]]
    vehicle_readings: Mapping[str, tuple[VehicleRow, ...]]


def _when(rng: random.Random, i: int, exact: bool) -> datetime:
    if exact:
        return BASE + timedelta(minutes=i)
    micros = rng.randrange(1_000_000) if rng.random() < 0.5 else 0
    return BASE + timedelta(minutes=i, seconds=rng.randrange(60), microseconds=micros)


def generate(rng: random.Random) -> tuple[list[MeterRow], list[VehicleRow]]:
    """30 hours of once-a-minute readings with gaps, for every device of the data set."""
    meters: list[MeterRow] = []
    vehicles: list[VehicleRow] = []
    for meter in ("m-a1", "m-a2", "m-move", "m-b1", "m-b2", "m-x"):
        exact = meter == "m-b2"  # on whole minutes, without gaps: readings on its range's ends
        for i in range(HOURS * 60):
            if exact or rng.random() >= 0.04:
                ts = _when(rng, i, exact)
                meters.append((meter, ts, round(rng.uniform(0, 2.5), 3), round(rng.uniform(225, 245), 1)))
    for vehicle, minutes in (("v-a", HOURS * 60), ("v-b", HOURS * 60), ("v-solo", 180)):
        for i in range(minutes):
            if rng.random() >= 0.04:
                ts = _when(rng, i, exact=False)
                soc, kwh = round(rng.uniform(10, 90), 2), round(rng.uniform(0, 2.2), 4)
                vehicles.append((vehicle, ts, soc, kwh, round(rng.uniform(20, 40), 2)))
    return meters, vehicles


def _by_device(rows: Sequence[tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    found: dict[str, list[Any]] = {}
    for row in rows:
        found.setdefault(row[0], []).append(row)
    return {device: tuple(sorted(rs, key=lambda r: r[1])) for device, rs in found.items()}


async def load_dataset(loader: Loader) -> Dataset:
    """The main data set, loaded in shuffled batches with late and duplicate readings."""
    rng = random.Random(20240310)
    meters, vehicles = generate(rng)
    sent = Dataset(
        start=BASE,
        end=BASE + timedelta(hours=HOURS),
        vehicles=("v-a", "v-b", "v-solo", "v-idle"),
        meters=("m-a1", "m-a2", "m-move", "m-b1", "m-b2", "m-x"),
        meter_readings=_by_device(meters),
        vehicle_readings=_by_device(vehicles),
    )
    rng.shuffle(meters)
    rng.shuffle(vehicles)
    cut_m, cut_v = len(meters) * 7 // 10, len(vehicles) * 7 // 10
    await loader.readings(meters[:cut_m], vehicles[:cut_v])
    # the rest arrives late (into hours already rolled up), with replays of stored
    # readings carrying other values and duplicates inside the batch: all ignored
    replay_m = [(m, ts, kwh + 100, v) for m, ts, kwh, v in rng.sample(meters[:cut_m], 200)]
    replay_v = [(v, ts, s, kwh + 100, t) for v, ts, s, kwh, t in rng.sample(vehicles[:cut_v], 200)]
    late_m, late_v = meters[cut_m:], vehicles[cut_v:]
    await loader.readings([*late_m, *replay_m, *late_m[:50]], [*late_v, *replay_v, *late_v[:50]])
    for meter, vehicle, valid in MAPPINGS:
        await loader.mapping(meter, vehicle, valid.literal())
    return sent


# The truth: what the API must answer, from the readings and mappings sent, in Python.


def numeric(x: float) -> Decimal:
    """A float reading as the numeric it is stored as (PostgreSQL casts float8 with 15
    significant digits; the generated values have fewer, so this is their shortest text)."""
    return Decimal(repr(x))


def _in(rows: Sequence[tuple[Any, ...]], start: datetime, end: datetime) -> list[tuple[Any, ...]]:
    return [r for r in rows if start <= r[1] < end]


def performance(ds: Dataset, vehicle: str, start: datetime, end: datetime) -> dict[str, Any]:
    """A vehicle's window: its own readings, and each meter reading taken while its meter
    was mapped to the vehicle; which meters were mapped in the window, and for how long."""
    own = _in(ds.vehicle_readings.get(vehicle, ()), start, end)
    spans = [(m, span) for m, v, span in MAPPINGS if v == vehicle]
    metered = [
        r
        for m in sorted({m for m, _ in spans})
        for r in _in(ds.meter_readings.get(m, ()), start, end)
        if any(mm == m and span.contains(r[1]) for mm, span in spans)
    ]
    clipped = [(m, c) for m, span in spans if (c := span.clip(start, end)) is not None]
    return {
        "dc": sum((numeric(r[3]) for r in own), Decimal(0)),
        "dc_n": len(own),
        "temp": sum((numeric(r[4]) for r in own), Decimal(0)) / len(own) if own else None,
        "ac": sum((numeric(r[2]) for r in metered), Decimal(0)),
        "ac_n": len(metered),
        "meter_ids": sorted({m for m, _ in clipped}),
        "mapped_seconds": sum(c.seconds() for _, c in clipped),
    }


def expected_ranking(
    meters: Sequence[MeterRow],
    vehicles: Sequence[VehicleRow],
    vehicle_ids: Sequence[str],
    mappings: Sequence[tuple[str, str, Span]],
    start: datetime,
    end: datetime,
) -> list[dict[str, Any]]:
    """The fleet ranking over ``[start, end)`` from the readings and mappings themselves:
    each vehicle with a reading or a mapping there, worst DC / AC first, no AC last."""
    rows = []
    for v in vehicle_ids:
        own = [r for r in _in(vehicles, start, end) if r[0] == v]
        spans = [(m, s) for m, vv, s in mappings if vv == v]
        mapped = [r for r in _in(meters, start, end) if any(m == r[0] and s.contains(r[1]) for m, s in spans)]
        if not own and not any(s.clip(start, end) for _, s in spans):
            continue
        rows.append(
            {
                "vehicle": v,
                "dc": sum((numeric(r[3]) for r in own), Decimal(0)),
                "dc_n": len(own),
                "ac": sum((numeric(r[2]) for r in mapped), Decimal(0)),
                "ac_n": len(mapped),
            }
        )
    inf = Decimal("Infinity")
    return sorted(rows, key=lambda r: (r["dc"] / r["ac"] if r["ac"] > 0 else inf, r["vehicle"]))


def vehicles_in(ds: Dataset, start: datetime, end: datetime) -> list[str]:
    """Vehicles with a reading in ``[start, end)`` or a mapping overlapping it."""
    reading = {v for v, rows in ds.vehicle_readings.items() if _in(rows, start, end)}
    mapped = {v for _, v, span in MAPPINGS if span.clip(start, end) is not None}
    return sorted(reading | mapped)


TRUNC: dict[str, Callable[[datetime], datetime]] = {
    "minute": lambda t: t.replace(second=0, microsecond=0),
    "hour": lambda t: t.replace(minute=0, second=0, microsecond=0),
    "day": lambda t: t.replace(hour=0, minute=0, second=0, microsecond=0),
}


def _buckets(
    rows: Sequence[tuple[Any, ...]], unit: str, start: datetime, end: datetime
) -> list[tuple[datetime, list[tuple[Any, ...]]]]:
    found: dict[datetime, list[tuple[Any, ...]]] = {}
    for r in _in(rows, start, end):
        found.setdefault(TRUNC[unit](r[1].astimezone(UTC)), []).append(r)
    return sorted(found.items())


def vehicle_buckets(
    ds: Dataset, vehicle: str, unit: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Per ``unit`` (minute, hour, day) of ``[start, end)``: samples, energy, SoC, temperature."""
    out = []
    for at, rows in _buckets(ds.vehicle_readings.get(vehicle, ()), unit, start, end):
        temps = [numeric(r[4]) for r in rows]
        out.append({
            "ts": at, "samples": len(rows), "kwh": sum((numeric(r[3]) for r in rows), Decimal(0)),
            "soc_min": min(r[2] for r in rows), "soc_max": max(r[2] for r in rows),
            "temp_avg": sum(temps, Decimal(0)) / len(temps), "temp_max": max(temps),
        })  # fmt: skip
    return out


def meter_buckets(ds: Dataset, meter: str, unit: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per ``unit`` (minute, hour, day) of ``[start, end)``: samples, energy, voltage."""
    out = []
    for at, rows in _buckets(ds.meter_readings.get(meter, ()), unit, start, end):
        out.append({
            "ts": at, "samples": len(rows), "kwh": sum((numeric(r[2]) for r in rows), Decimal(0)),
            "v_min": min(r[3] for r in rows), "v_max": max(r[3] for r in rows),
            "v_avg": fmean(r[3] for r in rows),
        })  # fmt: skip
    return out


def newest_vehicle_reading(ds: Dataset, vehicle: str) -> dict[str, Any]:
    """The vehicle's reading with the latest timestamp, as its status must show it."""
    _, ts, soc, kwh, temp = ds.vehicle_readings[vehicle][-1]
    return {
        "ts": ts, "soc": soc, "kwh_delivered_dc": numeric(kwh), "battery_temp": numeric(temp),
        "received_at": ts + RECEIVED_AFTER,
    }  # fmt: skip


def newest_meter_reading(ds: Dataset, meter: str) -> dict[str, Any]:
    """The meter's reading with the latest timestamp, as its status must show it."""
    _, ts, kwh, volts = ds.meter_readings[meter][-1]
    return {"ts": ts, "kwh_consumed_ac": numeric(kwh), "voltage": volts, "received_at": ts + RECEIVED_AFTER}


MeterReading = tuple[str, datetime, float, float]
VehicleReading = tuple[str, datetime, float, float, float]


def mapped_readings(
    day0: datetime, mappings: Sequence[tuple[str, str]], minutes: range, taper: float
) -> tuple[list[MeterReading], list[VehicleReading]]:
    """A reading of every mapped meter and vehicle at each of ``minutes`` after ``day0`` (at a
    second of the minute that moves), with energies that vary by minute and device; the k-th
    vehicle's DC energy is scaled by ``1 - k / taper``, so the vehicles rank apart."""
    meters: list[MeterReading] = []
    vehicles: list[VehicleReading] = []
    for i in minutes:
        ts = day0 + timedelta(minutes=i, seconds=i % 60)
        for k, (m, v) in enumerate(mappings):
            meters.append((m, ts, round(0.5 + (i * 7 + k) % 13 / 10, 2), 230.0))
            vehicles.append((v, ts, 50.0, round(0.6 + (i * 5 + k) % 11 / 10 * (1 - k / taper), 3), 30.0))
    return meters, vehicles
