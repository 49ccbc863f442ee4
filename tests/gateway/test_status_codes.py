"""Every answer of POST /v1/ingest except auth, rate limits and Kafka outages (own files)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import timedelta

import orjson
import pytest

from tests.gateway.conftest import MAX_BODY_BYTES, MAX_RECORDS
from tests.gateway.helpers import Gateway, meter, vehicle
from tests.support import iso, recent_minute, unique

NDJSON = {"Content-Type": "application/x-ndjson"}


def _ndjson(*readings: object) -> bytes:
    return b"\n".join(orjson.dumps(r) for r in readings) + b"\n"


def test_202_one_reading_array_and_ndjson(gateway: Gateway) -> None:
    m, v = unique("m"), unique("v")
    with gateway.client() as gw:
        one = gw.post("/v1/ingest", json=meter(m))
        assert (one.status_code, one.json()) == (202, {"accepted": 1})
        many = gw.post(
            "/v1/ingest", json=[meter(m, recent_minute(1)), vehicle(v), vehicle(v, recent_minute(2))]
        )
        assert (many.status_code, many.json()) == (202, {"accepted": 3})
        nd = gw.post(
            "/v1/ingest",
            content=_ndjson(meter(m, recent_minute(3)), vehicle(v, recent_minute(3))),
            headers=NDJSON,
        )
        assert (nd.status_code, nd.json()) == (202, {"accepted": 2})
        crlf = gw.post(
            "/v1/ingest",
            content=orjson.dumps(meter(m, recent_minute(4))) + b"\r\n\r\n",
            headers={"Content-Type": "application/x-ndjson; charset=utf-8"},
        )
        assert (crlf.status_code, crlf.json()) == (202, {"accepted": 1})


@pytest.mark.parametrize(
    ("body", "content_type", "needle"),
    [
        (b'{"type": "meter", ', "application/json", "malformed JSON"),
        (b"[1, 2", "application/json", "malformed JSON"),
        (b'"a string"', "application/json", "JSON object (one reading) or an array"),
        (b"", "application/json", "JSON object (one reading) or an array"),
        (b"\xff\xfe{}", "application/json", "JSON object"),
        (b'{"type":"meter"} trailing', "application/json", "malformed JSON"),
    ],
)
def test_400_malformed_json(gateway: Gateway, body: bytes, content_type: str, needle: str) -> None:
    with gateway.client() as gw:
        r = gw.post("/v1/ingest", content=body, headers={"Content-Type": content_type})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "malformed_body"
    assert needle in r.json()["message"]


def test_400_names_the_bad_ndjson_line(gateway: Gateway) -> None:
    body = _ndjson(meter(unique("m"))) + b"{not json}\n"
    with gateway.client() as gw:
        r = gw.post("/v1/ingest", content=body, headers=NDJSON)
    assert r.status_code == 400
    assert "line 1" in r.json()["message"]


def _stream(data: bytes, size: int = 4096) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_413_bytes_declared_and_streamed(gateway: Gateway) -> None:
    big = orjson.dumps([meter(unique("m"), comment="x" * (MAX_BODY_BYTES + 10))])
    with gateway.client() as gw:
        declared = gw.post("/v1/ingest", content=big, headers={"Content-Type": "application/json"})
        chunked = gw.post("/v1/ingest", content=_stream(big), headers={"Content-Type": "application/json"})
    for r in (declared, chunked):
        assert r.status_code == 413, r.text
        assert r.json() | {"message": ""} == {
            "error": "too_large", "message": "", "limit": MAX_BODY_BYTES, "unit": "bytes",
        }  # fmt: skip
    assert "transfer-encoding" not in declared.request.headers
    assert declared.request.headers["content-length"] == str(len(big))
    assert chunked.request.headers["transfer-encoding"] == "chunked"


def test_413_records_json_and_ndjson(gateway: Gateway) -> None:
    device = unique("m")
    readings = [meter(device, recent_minute(i)) for i in range(MAX_RECORDS + 1)]
    with gateway.client() as gw:
        as_json = gw.post("/v1/ingest", json=readings)
        as_ndjson = gw.post("/v1/ingest", content=_ndjson(*readings), headers=NDJSON)
        at_limit = gw.post("/v1/ingest", json=readings[:MAX_RECORDS])
    for r in (as_json, as_ndjson):
        assert r.status_code == 413, r.text
        assert r.json()["unit"] == "records"
        assert r.json()["limit"] == MAX_RECORDS
        assert f"{MAX_RECORDS + 1} readings" in r.json()["message"]
    assert at_limit.status_code == 202, at_limit.text


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/xml"},
        {"Content-Type": ""},
        {"Content-Type": "application/json", "Content-Encoding": "gzip"},
    ],
)
def test_415_unsupported_media(gateway: Gateway, headers: dict[str, str]) -> None:
    raw = orjson.dumps(meter(unique("m")))
    body = gzip.compress(raw) if headers.get("Content-Encoding") == "gzip" else raw
    with gateway.client() as gw:
        r = gw.post("/v1/ingest", content=body, headers=headers)
    assert r.status_code == 415, r.text
    assert r.json()["error"] == "unsupported_media_type"


def test_422_names_every_bad_index_and_field(gateway: Gateway) -> None:
    m, v = unique("m"), unique("v")
    far_future = iso(recent_minute() + timedelta(hours=2))
    readings = [
        meter(m),  # 0: fine
        vehicle(v, soc=101),  # 1
        meter(m, recent_minute(1), voltage="240", extra=1),  # 2: two problems
        {"meterId": m, "kwhConsumedAc": 1, "voltage": 230, "timestamp": iso(recent_minute(2))},  # 3
        meter(m, timestamp="2023-10-27T10:00:00"),  # 4: naive
        meter(m, timestamp=far_future),  # 5
        meter("bad id!"),  # 6
        vehicle(v, kwhDeliveredDc=-0.1, batteryTemp=500),  # 7: two problems
        {"type": "boiler"},  # 8
        42,  # 9
    ]
    with gateway.client() as gw:
        r = gw.post("/v1/ingest", json=readings)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_readings"
    assert body["message"].startswith("9 reading(s) invalid; nothing was published")
    got = {(e["index"], e["field"], e["type"]) for e in body["errors"]}
    assert got == {
        (1, "soc", "less_than_equal"),
        (2, "voltage", "float_type"),
        (2, "extra", "extra_forbidden"),
        (3, "type", "union_tag_not_found"),
        (4, "timestamp", "timezone_aware"),
        (5, "timestamp", "value_error"),
        (6, "meterId", "string_pattern_mismatch"),
        (7, "kwhDeliveredDc", "greater_than_equal"),
        (7, "batteryTemp", "less_than_equal"),
        (8, "type", "union_tag_invalid"),
        (9, "$", "dict_type"),
    }
    assert all(e["message"] for e in body["errors"])
    future = next(e for e in body["errors"] if e["index"] == 5)
    assert "in the future" in future["message"]


@pytest.mark.parametrize(
    ("field", "raw_value", "error_type"),
    [
        ("kwhConsumedAc", b"NaN", "finite_number"),
        ("kwhConsumedAc", b"Infinity", "finite_number"),
        ("voltage", b"1e400", "finite_number"),
        ("kwhConsumedAc", b"true", "float_type"),
        ("voltage", b'"230"', "float_type"),  # null is allowed: not measured (docs/registers.md)
        ("meterId", b'""', "string_too_short"),
        ("meterId", b'"' + b"m" * 65 + b'"', "string_too_long"),
        ("meterId", b'"m/1"', "string_pattern_mismatch"),
    ],
)
def test_422_strict_values(gateway: Gateway, field: str, raw_value: bytes, error_type: str) -> None:
    raw = orjson.dumps(meter(unique("m")) | {field: "PLACEHOLDER"}).replace(b'"PLACEHOLDER"', raw_value)
    with gateway.client() as gw:
        r = gw.post("/v1/ingest", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert [(e["index"], e["field"], e["type"]) for e in r.json()["errors"]] == [(0, field, error_type)]


def test_422_ndjson_every_bad_line(gateway: Gateway) -> None:
    m = unique("m")
    body = _ndjson(meter(m), meter(m, recent_minute(1), voltage=-1), meter(m, recent_minute(2), soc=5))
    with gateway.client() as gw:
        r = gw.post("/v1/ingest", content=body, headers=NDJSON)
    assert r.status_code == 422
    assert {(e["index"], e["field"]) for e in r.json()["errors"]} == {(1, "voltage"), (2, "soc")}


@pytest.mark.parametrize(
    ("body", "content_type"), [(b"[]", "application/json"), (b"\n \n", "application/x-ndjson")]
)
def test_422_no_readings(gateway: Gateway, body: bytes, content_type: str) -> None:
    with gateway.client() as gw:
        r = gw.post("/v1/ingest", content=body, headers={"Content-Type": content_type})
    assert r.status_code == 422
    assert r.json()["errors"] == []


def test_unknown_route_and_method_answer_json(gateway: Gateway) -> None:
    with gateway.client() as gw:
        missing = gw.get("/v1/nope")
        wrong = gw.get("/v1/ingest")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert (wrong.status_code, wrong.json()["error"]) == (405, "method_not_allowed")
    assert wrong.headers["allow"] == "POST"
