"""The published contract (OpenAPI) and the Prometheus metrics of the gateway."""

from __future__ import annotations

from typing import Any

import httpx

from tests.gateway.helpers import Gateway, meter, vehicle
from tests.support import unique

INGEST_CODES = {"202", "400", "401", "403", "413", "415", "422", "429", "503"}


def _openapi(gateway: Gateway) -> dict[str, Any]:
    doc: dict[str, Any] = httpx.get(f"{gateway.url}/openapi.json", timeout=10).json()
    return doc


def test_every_ingest_status_is_documented_with_an_example(gateway: Gateway) -> None:
    doc = _openapi(gateway)
    post = doc["paths"]["/v1/ingest"]["post"]
    assert set(post["responses"]) == INGEST_CODES
    for code, response in post["responses"].items():
        media = response["content"]["application/json"]
        assert media.get("example") or media.get("examples"), code
        assert response["description"]
    for code in ("429", "503"):
        assert "Retry-After" in post["responses"][code]["headers"]
    assert "WWW-Authenticate" in post["responses"]["401"]["headers"]
    assert post["security"] == [{"bearerAuth": []}]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert set(post["requestBody"]["content"]) == {"application/json", "application/x-ndjson"}
    assert doc["paths"]["/readyz"]["get"]["responses"]["503"]["headers"]["Retry-After"]


def test_documented_limits_are_the_configured_ones(gateway: Gateway) -> None:
    doc = _openapi(gateway)
    body = doc["paths"]["/v1/ingest"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    array = next(s for s in body["oneOf"] if s.get("type") == "array")
    assert f"at most {gateway.env['MAX_RECORDS']} readings" in array["description"]
    meter_schema = doc["components"]["schemas"]["MeterReading"]
    assert meter_schema["additionalProperties"] is False
    assert meter_schema["properties"]["voltage"]["maximum"] == 1000.0


def test_422_body_matches_its_documented_schema(gateway: Gateway) -> None:
    doc = _openapi(gateway)
    schema = doc["components"]["schemas"]["InvalidReadingsBody"]
    assert set(schema["required"]) == {"error", "message", "errors"}
    with gateway.client() as gw:
        body = gw.post("/v1/ingest", json=[meter(unique("m"), voltage=-1)]).json()
    assert set(body) == {"error", "message", "errors"}
    assert set(body["errors"][0]) == set(doc["components"]["schemas"]["FieldError"]["properties"])


def test_metrics_count_requests_readings_latency_and_in_flight(gateway: Gateway) -> None:
    def sample(prefix: str) -> float:
        try:
            return gateway.metric(prefix)
        except AssertionError:
            return 0.0

    route = 'gateway_requests_total{route="/v1/ingest",status="202"}'
    vehicles = 'gateway_readings_accepted_total{type="vehicle"}'
    before = {k: sample(k) for k in (route, vehicles, "gateway_produce_seconds_count")}
    with gateway.client() as gw:
        assert gw.post("/v1/ingest", json=[vehicle(unique("v")), vehicle(unique("v"))]).status_code == 202
        assert (
            gw.post("/v1/ingest", content=b"[", headers={"Content-Type": "application/json"}).status_code
            == 400
        )
    assert sample(route) == before[route] + 1
    assert sample(vehicles) == before[vehicles] + 2
    assert sample("gateway_produce_seconds_count") == before["gateway_produce_seconds_count"] + 1
    assert sample('gateway_requests_total{route="/v1/ingest",status="400"}') >= 1
    assert sample("gateway_in_flight_records") == 0
