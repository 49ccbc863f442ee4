"""A decoded batch: rows to store, rejects to record, and the offsets it covers."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from aiokafka.structs import TopicPartition

if TYPE_CHECKING:
    from consumer.sessions import SessionRow

MeterRow = tuple[str, datetime, float, float | None, datetime | None, int, int]
# A register reading: (meter id, ts, kwh_register_ac, voltage, received at, partition, offset).
RegisterRow = tuple[str, datetime, float, float | None, datetime | None, int, int]
VehicleRow = tuple[str, datetime, float, float, float, datetime | None, int, int]


@dataclass(frozen=True, slots=True)
class Reject:
    """A message that cannot be stored, with why."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    raw: bytes
    reason: str
    detail: str


@dataclass(slots=True)
class Batch:
    """Everything one database transaction stores.

    ``next_offsets`` holds, per partition, the offset after the last message in the
    batch; ``expected`` the stored offset the batch starts from (the fence).
    """

    generation: int
    meters: list[MeterRow] = field(default_factory=list)
    vehicles: list[VehicleRow] = field(default_factory=list)
    sessions: list[SessionRow] = field(default_factory=list)  # telemetry.session.v1 events
    registers: list[RegisterRow] = field(default_factory=list)  # meter readings with kwhRegisterAc
    rejects: list[Reject] = field(default_factory=list)
    next_offsets: dict[TopicPartition, int] = field(default_factory=dict)
    expected: dict[TopicPartition, int | None] = field(default_factory=dict)
    days: set[date] = field(default_factory=set)
    # Readings per gateway receive time (ms): the records of one request share it.
    received_at_ms: Counter[int] = field(default_factory=Counter)

    @property
    def messages(self) -> int:
        return self.readings + len(self.sessions) + len(self.rejects)

    @property
    def readings(self) -> int:
        """Meter (interval and register) and vehicle readings."""
        return len(self.meters) + len(self.registers) + len(self.vehicles)
