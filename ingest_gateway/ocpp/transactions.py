"""Transactions without a database: 1.6 transaction ids, and which connector a transaction is on.

1.6 ids (StartTransaction.conf ``transactionId``, a positive int32 the central system
chooses): the whole seconds since 2025-01-01T00:00Z at assignment, bumped to the charge
point's last id + 1 when that is not smaller, so ids of one charge point only grow within
a process, even if the clock steps back. They stay positive int32 until 2093. A restarted
process starts again from the clock, which is ahead of every id a previous process gave
(it would need more than one start per second per charge point to run ahead); two
processes could only clash for one charge point if both assigned it an id in the same
second, and a charge point holds one connection at a time.

A retried StartTransaction (same connector, idTag, meterStart and timestamp: the charge
point did not get our answer) gets the id it got the first time, so one transaction is
never two sessions.

StopTransaction (1.6) carries no connector, and TransactionEvent (2.0.1) names its EVSE
only on the first event, so the book remembers (charge point, transaction) → connector
and idTag per process: learnt at the start and from every MeterValues or
TransactionEvent that names both, and kept for ``capacity`` transactions (oldest dropped
first). After a restart an open transaction is found again from its next meter value.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

EPOCH_S = 1_735_689_600  # 2025-01-01T00:00:00Z
INT32_MAX = 2**31 - 1


@dataclass(slots=True)
class Transaction:
    """What the gateway knows of one open (or recently ended) transaction."""

    connector_id: int
    id_tag: str | None = None


StartKey = tuple[int, str, int, str]  # connector, idTag, meterStart, timestamp


class TransactionBook:
    """Transaction ids and connectors of every charge point served by this process."""

    def __init__(self, capacity: int = 200_000, clock: Callable[[], float] = time.time) -> None:
        self._capacity = capacity
        self._clock = clock
        self._last_id: dict[str, int] = {}
        self._open: OrderedDict[tuple[str, str], Transaction] = OrderedDict()
        self._starts: OrderedDict[tuple[str, StartKey], int] = OrderedDict()

    def new_id(self, charge_point_id: str) -> int:
        """A positive int32 never given to this charge point before (see the module doc)."""
        now = int(self._clock()) - EPOCH_S
        tx = max(now, self._last_id.get(charge_point_id, 0) + 1, 1)
        if tx > INT32_MAX:
            raise OverflowError("1.6 transaction ids ran out of int32 (year 2093)")
        self._last_id[charge_point_id] = tx
        return tx

    def start_16(self, charge_point_id: str, key: StartKey) -> tuple[int, bool]:
        """The id for a 1.6 StartTransaction, and whether it is new (False: a retry)."""
        known = self._starts.get((charge_point_id, key))
        if known is not None:
            return known, False
        tx = self.new_id(charge_point_id)
        self._starts[(charge_point_id, key)] = tx
        self._trim(self._starts)
        self.learn(charge_point_id, str(tx), key[0], key[1])
        return tx, True

    def learn(self, charge_point_id: str, transaction_id: str, connector_id: int, id_tag: str | None) -> None:
        """Remember (or refresh) a transaction's connector, and its idTag when given."""
        key = (charge_point_id, transaction_id)
        known = self._open.get(key)
        if known is None:
            self._open[key] = Transaction(connector_id, id_tag)
            self._trim(self._open)
            return
        known.connector_id = connector_id
        if id_tag is not None:
            known.id_tag = id_tag
        self._open.move_to_end(key)

    def find(self, charge_point_id: str, transaction_id: str) -> Transaction | None:
        """The transaction, when this process has seen it."""
        return self._open.get((charge_point_id, transaction_id))

    def _trim(self, table: OrderedDict[tuple[str, object], object] | OrderedDict) -> None:  # type: ignore[type-arg]
        while len(table) > self._capacity:
            table.popitem(last=False)
