"""The OCPP door's pure logic: sampled values to kWh and volts, 1.6 transaction ids, the
per-connection message rate. Expected values are written out by hand."""

from __future__ import annotations

from typing import Any

import pytest
from ocpp.exceptions import PropertyConstraintViolationError, TypeConstraintViolationError

from ingest_gateway.ocpp.connection import TokenBucket
from ingest_gateway.ocpp.errors import HandshakeRefused
from ingest_gateway.ocpp.handshake import authenticate
from ingest_gateway.ocpp.samples import MeterSample, meter_samples
from ingest_gateway.ocpp.transactions import EPOCH_S, TransactionBook

AT = "2026-01-01T00:00:00Z"


def one(version: str, *sampled: dict[str, Any]) -> MeterSample:
    [got] = meter_samples([{"timestamp": AT, "sampled_value": list(sampled)}], version)
    return got


def test_16_units_phases_and_voltage() -> None:
    assert one("1.6", {"value": "1001"}).kwh == 1001 / 1000  # default measurand and unit: register in Wh
    assert one("1.6", {"value": "12.5", "unit": "kWh"}).kwh == 12.5
    phases = [
        {"value": v, "unit": "kWh", "phase": p} for v, p in (("1.25", "L1"), ("2.5", "L2"), ("3", "L3"))
    ]
    assert one("1.6", *phases).kwh == 1.25 + 2.5 + 3
    with_total = one("1.6", *phases, {"value": "7000", "unit": "Wh"})
    assert with_total.kwh == 7.0  # a total wins over the phases
    volts = [{"value": v, "measurand": "Voltage", "phase": p} for v, p in (("231", "L1-N"), ("229", "L2-N"))]
    assert one("1.6", {"value": "5"}, *volts).voltage == (231 + 229) / 2
    assert one("1.6", {"value": "5"}).voltage is None
    assert one("1.6", {"value": "16", "measurand": "Current.Import", "unit": "A"}).kwh is None
    signed = {"value": "AbCd==", "format": "SignedData"}
    assert one("1.6", signed, {"value": "2000"}).kwh == 2.0
    ev_side = {"value": "9999", "location": "EV"}
    assert one("1.6", ev_side).kwh is None
    assert one("1.6", {"value": "3000", "location": "Inlet"}).kwh == 3.0


def test_201_multipliers() -> None:
    assert one("2.0.1", {"value": 1001}).kwh == 1001 / 1000
    assert one("2.0.1", {"value": 12.5, "unit_of_measure": {"unit": "kWh", "multiplier": 1}}).kwh == 125.0
    assert one("2.0.1", {"value": 12, "unit_of_measure": {"unit": "Wh", "multiplier": 3}}).kwh == 12.0
    assert one("2.0.1", {"value": 25, "unit_of_measure": {"unit": "Wh", "multiplier": -1}}).kwh == 2.5 / 1000
    volts = {"value": 23, "measurand": "Voltage", "unit_of_measure": {"unit": "V", "multiplier": 1}}
    assert one("2.0.1", {"value": 1}, volts).voltage == 230.0


@pytest.mark.parametrize(
    ("version", "sampled", "error"),
    [
        ("1.6", {"value": "abc"}, TypeConstraintViolationError),
        ("1.6", {"value": "NaN"}, TypeConstraintViolationError),
        ("1.6", {"value": "1e999"}, TypeConstraintViolationError),
        ("1.6", {"value": "-1"}, PropertyConstraintViolationError),
        ("1.6", {"value": "5", "unit": "varh"}, PropertyConstraintViolationError),
        ("2.0.1", {"value": True}, TypeConstraintViolationError),
        ("2.0.1", {"value": -0.5}, PropertyConstraintViolationError),
        ("2.0.1", {"value": 1, "unit_of_measure": {"multiplier": 12}}, PropertyConstraintViolationError),
    ],
)
def test_bad_values(version: str, sampled: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        one(version, sampled)


def test_transaction_ids_grow_per_charge_point_and_retries_keep_theirs() -> None:
    now = [EPOCH_S + 1000.5]
    book = TransactionBook(clock=lambda: now[0])
    first, new = book.start_16("cp", (1, "CARD", 10, AT))
    assert (first, new) == (1000, True)
    assert book.start_16("cp", (1, "CARD", 10, AT)) == (1000, False)  # a retried StartTransaction
    assert book.start_16("cp", (2, "CARD", 10, AT)) == (1001, True)  # same second: last + 1
    assert book.start_16("other", (1, "CARD", 10, AT)) == (1000, True)  # per charge point
    now[0] -= 500  # the clock steps back: still growing
    assert book.new_id("cp") == 1002
    now[0] = EPOCH_S + 2**31  # year 2093
    with pytest.raises(OverflowError):
        book.new_id("cp")
    assert book.find("cp", "1001") is not None
    assert book.find("cp", "1001").connector_id == 2  # type: ignore[union-attr]


def test_the_book_is_bounded() -> None:
    book = TransactionBook(capacity=2)
    for tx in ("a", "b", "c"):
        book.learn("cp", tx, 1, None)
    assert [book.find("cp", tx) is not None for tx in ("a", "b", "c")] == [False, True, True]


def test_token_bucket() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=2.0, burst=3, clock=lambda: now[0])
    assert [bucket.delay() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.delay() == pytest.approx(0.5)
    now[0] = 0.5
    assert bucket.delay() == 0.0


def test_disabled_auth_accepts_anyone() -> None:
    authenticate(None, "cp", None)


def test_basic_needs_user_and_password() -> None:
    from common.keys import KeyRing
    from common.verifier import TokenVerifier

    verifier = TokenVerifier(KeyRing.single("k" * 32))
    for header in ("Basic !!!", "Basic " + "Y3A=", "Digest x"):  # not base64; "cp" without ":"; not Basic
        with pytest.raises(HandshakeRefused) as refused:
            authenticate(header, "cp", verifier)
        assert refused.value.status == 401
