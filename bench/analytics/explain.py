"""``EXPLAIN (ANALYZE, BUFFERS)`` of the API's named queries, and what the plans read.

The query text comes from ``sql.query(name)``, exactly as the API runs it; its
``%(name)s`` placeholders become ``$n`` of a prepared statement, executed with the
values as literals. ``plan_cache_mode`` chooses a custom plan (the values known when
planning, as for the first executions on a connection) or the generic plan (what a
prepared statement may switch to after five executions; psycopg prepares a query
after five executions on a connection).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg import sql as pgsql

from sql import query

PlanMode = Literal["custom", "generic"]

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_TYPES = {
    "from": "timestamptz",
    "to": "timestamptz",
    "vehicle_id": "text",
    "limit": "integer",
    "threshold": "float8",
}
_RAW = re.compile(r"^(meter|vehicle)_telemetry(_\d{8})?$")
_ROLLUP = ("meter_hourly", "vehicle_hourly", "meter_daily", "vehicle_daily")
EDGE_ROWS = 60
"""At one reading per minute, a partial hour holds at most 60 readings of one device."""

_INDEX_SCANS = ("Index Scan", "Index Only Scan", "Bitmap Heap Scan")  # bitmap: driven by an index


def prepared(name: str, conn: psycopg.Connection[Any]) -> tuple[str, list[str]]:
    """The named query with ``$n`` placeholders, and the parameter names in ``$n`` order."""
    text = query(name).as_string(conn)
    names: list[str] = []

    def number(m: re.Match[str]) -> str:
        if m[1] not in names:
            names.append(m[1])
        return f"${names.index(m[1]) + 1}"

    return _PLACEHOLDER.sub(number, text).replace("%%", "%"), names


@dataclass(frozen=True, slots=True)
class Scan:
    """One plan node that reads a table."""

    relation: str
    node: str
    index: str | None
    loops: int
    rows: int  # rows returned, all loops (EXPLAIN reports a per-loop average; this is rounded)
    removed: int  # rows read but dropped by a filter, all loops
    hit: int
    read: int

    @property
    def kind(self) -> str:
        """raw history, rollup, or other (mapping, status)."""
        if _RAW.match(self.relation):
            return "raw"
        return "rollup" if self.relation in _ROLLUP else "other"


@dataclass
class PlanSummary:
    """What one ``EXPLAIN (ANALYZE, BUFFERS)`` shows."""

    query: str
    mode: PlanMode
    params: dict[str, Any]
    planning_ms: float
    execution_ms: float
    hit: int
    read: int
    scans: list[Scan] = field(default_factory=list)
    segments: int = 0
    text: str = ""
    removed_at_start: int = 0  # partition scans pruned before execution ("Subplans Removed")

    @property
    def executed(self) -> list[Scan]:
        """Scans that ran at least once (the others were pruned at run time)."""
        return [s for s in self.scans if s.loops > 0]

    def rows(self, kind: str) -> int:
        """Rows read from ``kind`` tables, filtered-out rows included."""
        return sum(s.rows + s.removed for s in self.executed if s.kind == kind)

    @property
    def raw_pieces(self) -> int:
        """Executions of raw-history scans (one per partition and edge piece)."""
        return sum(s.loops for s in self.executed if s.kind == "raw")

    @property
    def max_raw_rows_per_loop(self) -> float:
        """The most rows one execution of a raw scan read."""
        per = [(s.rows + s.removed) / s.loops for s in self.executed if s.kind == "raw"]
        return max(per, default=0.0)

    @property
    def not_index(self) -> list[Scan]:
        """Executed scans of history or rollups that no index drives."""
        return [
            s
            for s in self.executed
            if s.kind in ("raw", "rollup") and (s.node not in _INDEX_SCANS or s.index is None)
        ]

    @property
    def seq_scans(self) -> list[Scan]:
        """Executed sequential scans of any table."""
        return [s for s in self.executed if s.node == "Seq Scan"]

    @property
    def pruned(self) -> int:
        """Partition scans in the plan that never ran."""
        return sum(1 for s in self.scans if s.loops == 0 and s.kind == "raw")

    @property
    def raw_bound(self) -> int:
        """Raw rows a segment-wise plan may read: two partial hours per segment."""
        return 2 * EDGE_ROWS * self.segments

    def edges_only(self) -> bool | None:
        """Whether history was read only at the window's edges: raw rows within :attr:`raw_bound`,
        no raw scan over one partial hour, at most 24 rollup rows per segment, every history or
        rollup scan driven by an index, no sequential scan (``None``: segments unknown)."""
        if not self.segments:
            return None
        return (
            self.rows("raw") <= self.raw_bound
            and self.max_raw_rows_per_loop <= EDGE_ROWS
            and self.rows("rollup") <= 24 * self.segments
            and not self.not_index
            and not self.seq_scans
        )

    def partitions(self) -> dict[str, int]:
        """Raw partition -> rows read from it."""
        out: dict[str, int] = {}
        for s in self.executed:
            if s.kind == "raw":
                out[s.relation] = out.get(s.relation, 0) + s.rows + s.removed
        return out


def _nodes(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _scan(node: Mapping[str, Any]) -> Scan:
    index = node.get("Index Name")
    if index is None:  # a Bitmap Heap Scan names its index in the Bitmap Index Scan below it
        index = next((n.get("Index Name") for n in _nodes(node) if n.get("Index Name")), None)
    loops = int(node.get("Actual Loops", 0))
    per_loop_rows = float(node.get("Actual Rows", 0))
    removed = float(node.get("Rows Removed by Filter", 0)) + float(
        node.get("Rows Removed by Index Recheck", 0)
    )
    return Scan(
        relation=str(node["Relation Name"]),
        node=str(node["Node Type"]),
        index=index,
        loops=loops,
        rows=round(per_loop_rows * loops),
        removed=round(removed * loops),
        hit=int(node.get("Shared Hit Blocks", 0)),
        read=int(node.get("Shared Read Blocks", 0)),
    )


def explain(
    url: str, name: str, params: dict[str, Any], mode: PlanMode, *, segments: int = 0, text: bool = False
) -> PlanSummary:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of the named query with ``params``, as ``url``'s role runs it
    (TimeZone UTC, read only, as the API's sessions are). ``text`` also keeps the text plan
    (a second execution, so its buffers are warmer)."""
    with psycopg.connect(
        url, autocommit=True, options="-c TimeZone=UTC -c default_transaction_read_only=on"
    ) as conn:
        body, names = prepared(name, conn)
        types = ", ".join(_TYPES[n] for n in names)
        conn.execute(pgsql.SQL(f"PREPARE bench_q ({types}) AS {body}"))
        conn.execute(pgsql.SQL("SET plan_cache_mode = {}").format(pgsql.Literal(f"force_{mode}_plan")))
        args = pgsql.SQL(", ").join(pgsql.Literal(params[n]) for n in names)
        stmt = pgsql.SQL("EXPLAIN (ANALYZE, BUFFERS, FORMAT {}) EXECUTE bench_q ({})")
        row = conn.execute(stmt.format(pgsql.SQL("JSON"), args)).fetchone()
        assert row is not None
        doc = row[0][0]
        plan_text = ""
        if text:
            lines = conn.execute(stmt.format(pgsql.SQL("TEXT"), args)).fetchall()
            plan_text = "\n".join(str(r[0]) for r in lines)
    root = doc["Plan"]
    scans = [_scan(n) for n in _nodes(root) if "Relation Name" in n]
    return PlanSummary(
        query=name,
        mode=mode,
        params=params,
        planning_ms=float(doc.get("Planning Time", 0.0)),
        execution_ms=float(doc.get("Execution Time", 0.0)),
        hit=int(root.get("Shared Hit Blocks", 0)),
        read=int(root.get("Shared Read Blocks", 0)),
        scans=scans,
        segments=segments,
        text=plan_text,
        removed_at_start=sum(int(n.get("Subplans Removed", 0)) for n in _nodes(root)),
    )


def segments(url: str, vehicle: str, start: datetime, end: datetime) -> int:
    """The performance query's segments: the vehicle's own stream, plus each mapping range of
    one of its meters that overlaps ``[start, end)``."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM smart_meter_mapping"
            " WHERE vehicle_id = %s AND valid && tstzrange(%s, %s, '[)')",
            (vehicle, start, end),
        ).fetchone()
    return 1 + (int(row[0]) if row else 0)
