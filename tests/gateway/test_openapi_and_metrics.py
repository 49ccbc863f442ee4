"""The published contract (OpenAPI) and the Prometheus metrics of the gateway."""

from __future__ import annotations

from typing import Any

import httpx

from tests.gateway.helpers import Gateway, meter, vehicle
from tests.support import unique

INGEST_CODES = {"202", "400", "401", "403", "408", "413", "415", "422", "429", "503"}


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
    # optional fields (voltage, one of the two energies) are a number or null
    bounds = {
        name: next(
            branch["maximum"] for branch in meter_schema["properties"][name]["anyOf"] if "maximum" in branch
        )
        for name in ("voltage", "kwhConsumedAc", "kwhRegisterAc")
    }
    assert bounds == {"voltage": 1000.0, "kwhConsumedAc": 1000.0, "kwhRegisterAc": 1e9}


def test_422_body_matches_its_documented_schema(gateway: Gateway) -> None:
    doc = _openapi(gateway)
    schema = doc["components"]["schemas"]["InvalidReadingsBody"]
    assert set(schema["required"]) == {"error", "message", "errors", "errorCount"}
    with gateway.client() as gw:
        body = gw.post("/v1/ingest", json=[meter(unique("m"), voltage=-1)]).json()
    assert set(body) == {"error", "message", "errors", "errorCount"}
    assert set(body["errors"][0]) == set(doc["components"]["schemas"]["FieldError"]["properties"])


class Metrics:
    """One scrape of /metrics: every sample line by its exact series, and the declared names."""

    def __init__(self, gateway: Gateway) -> None:
        self.samples: dict[str, float] = {}
        self.declared: set[str] = set()
        for line in httpx.get(f"{gateway.url}/metrics", timeout=10).text.splitlines():
            if line.startswith("# TYPE "):
                self.declared.add(line.split()[2])
            elif line and not line.startswith("#"):
                series, value = line.rsplit(" ", 1)
                self.samples[series] = float(value)

    def __getitem__(self, series: str) -> float:
        if series not in self.samples:
            raise AssertionError(f"/metrics has no series {series!r}")
        return self.samples[series]

    def before_first_use(self, series: str) -> float:
        """A labelled series, which appears only once its labels are first used: absent is 0.

        Its metric must be declared all the same, so a renamed or dropped metric fails.
        """
        name, labelled, _ = series.partition("{")
        if series not in self.samples and labelled and name in self.declared:
            return 0.0
        return self[series]


def test_metrics_count_requests_readings_latency_and_in_flight(gateway: Gateway) -> None:
    route = 'gateway_requests_total{route="/v1/ingest",status="202"}'
    vehicles = 'gateway_readings_accepted_total{type="vehicle"}'
    produced = "gateway_produce_seconds_count"
    before = Metrics(gateway)
    start = {k: before.before_first_use(k) for k in (route, vehicles)} | {produced: before[produced]}
    with gateway.client() as gw:
        assert gw.post("/v1/ingest", json=[vehicle(unique("v")), vehicle(unique("v"))]).status_code == 202
        assert (
            gw.post("/v1/ingest", content=b"[", headers={"Content-Type": "application/json"}).status_code
            == 400
        )
    after = Metrics(gateway)
    assert after[route] == start[route] + 1
    assert after[vehicles] == start[vehicles] + 2
    assert after[produced] == start[produced] + 1
    assert after['gateway_requests_total{route="/v1/ingest",status="400"}'] >= 1
    assert after["gateway_in_flight_records"] == 0
