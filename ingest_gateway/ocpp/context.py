"""What every charge point connection of one gateway shares."""

from __future__ import annotations

from dataclasses import dataclass

from ingest_gateway.ocpp.transactions import TransactionBook
from ingest_gateway.publisher import Publisher
from schemas.timerules import TimeRules
from schemas.topics import SESSION_TOPIC


@dataclass(frozen=True)
class DoorContext:
    """The publisher, the readings' time rules, the transaction book and the told heartbeat."""

    publisher: Publisher
    rules: TimeRules
    book: TransactionBook
    heartbeat_interval_s: int
    session_topic: str = SESSION_TOPIC
