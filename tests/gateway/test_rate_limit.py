"""Per-device token buckets: 429 with Retry-After, and 413 for more than a bucket holds."""

from __future__ import annotations

from tests.gateway.helpers import Gateway, end_offsets, meter
from tests.support import recent_minute, unique


def test_429_with_retry_after_per_device(limited_gateway: Gateway) -> None:
    device, neighbour = unique("m"), unique("m")
    with limited_gateway.client() as gw:
        burst = gw.post("/v1/ingest", json=[meter(device, recent_minute(i)) for i in range(3)])
        assert burst.status_code == 202, burst.text
        limited = gw.post("/v1/ingest", json=meter(device, recent_minute(4)))
        other = gw.post("/v1/ingest", json=meter(neighbour))
    assert limited.status_code == 429, limited.text
    assert limited.json()["error"] == "rate_limited"
    retry = int(limited.headers["retry-after"])
    assert 1 <= retry <= 5  # one token refills in 1 / 0.2 = 5 s
    assert f"retry in {retry} s" in limited.json()["message"]
    assert other.status_code == 202  # buckets are per device


def test_a_refused_batch_takes_no_tokens(limited_gateway: Gateway) -> None:
    device, fresh = unique("m"), unique("m")
    kafka = limited_gateway.env
    with limited_gateway.client() as gw:
        assert (
            gw.post("/v1/ingest", json=[meter(device, recent_minute(i)) for i in range(3)]).status_code == 202
        )
        before = end_offsets(kafka)
        mixed = gw.post("/v1/ingest", json=[meter(fresh), meter(device, recent_minute(9))])
        assert mixed.status_code == 429
        assert end_offsets(kafka) == before  # nothing of the batch was published
        # fresh's bucket was not charged by the refused batch: it still takes a full burst
        full = gw.post("/v1/ingest", json=[meter(fresh, recent_minute(i)) for i in range(3)])
    assert full.status_code == 202, full.text


def test_413_more_readings_for_one_device_than_its_burst(limited_gateway: Gateway) -> None:
    device = unique("m")
    with limited_gateway.client() as gw:
        r = gw.post("/v1/ingest", json=[meter(device, recent_minute(i)) for i in range(4)])
    assert r.status_code == 413, r.text
    assert r.json() | {"message": ""} == {
        "error": "too_large", "message": "", "limit": 3, "unit": "records per device", "device": device,
    }  # fmt: skip
