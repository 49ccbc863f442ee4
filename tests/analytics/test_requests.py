"""Every 422 names its parameter; 401 and 403 for missing, bad or under-scoped tokens."""

from __future__ import annotations

import httpx
import pytest

from common.tokens import Scope, issue

from .support import Dataset, token

# Well formed, key id "default" like the app's key, but signed with another secret.
FORGED = issue("not-the-deployment-secret-" + "z" * 32, Scope.ANALYST, "tester")

PERF = "/v1/analytics/performance/v-a"


@pytest.mark.parametrize(
    ("url", "params", "parameter", "fragment"),
    [
        (PERF, {"from": "2024-03-10T00:00:00"}, "from", "no UTC offset"),
        (PERF, {"to": "2024-03-10"}, "to", "not an RFC 3339 timestamp"),
        (PERF, {"from": "yesterday"}, "from", "not an RFC 3339 timestamp"),
        (PERF, {"from": "2024-02-30T00:00:00Z"}, "from", "not a valid time"),
        (PERF, {"from": "2024-03-10T01:00:00Z", "to": "2024-03-10T01:00:00Z"}, "to", "must be after from"),
        (PERF, {"from": "2024-03-10T02:00:00Z", "to": "2024-03-10T01:00:00Z"}, "to", "must be after from"),
        (
            PERF,
            {"from": "2023-01-01T00:00:00Z", "to": "2024-03-10T00:00:00Z"},
            "from",
            "longer than 366 days",
        ),
        ("/v1/analytics/performance/v%20a", {}, "vehicleId", "pattern"),
        ("/v1/analytics/performance/" + "v" * 65, {}, "vehicleId", "pattern"),
        ("/v1/vehicles/bad!id/status", {}, "vehicleId", "pattern"),
        ("/v1/meters/bad!id/status", {}, "meterId", "pattern"),
        ("/v1/analytics/fleet/efficiency", {"limit": "0"}, "limit", "greater than or equal to 1"),
        ("/v1/analytics/fleet/efficiency", {"limit": "1001"}, "limit", "less than or equal to 1000"),
        ("/v1/analytics/fleet/efficiency", {"limit": "ten"}, "limit", "valid integer"),
        ("/v1/analytics/fleet/efficiency", {"to": "2024-03-10T25:00:00Z"}, "to", "not a valid time"),
        ("/v1/vehicles/v-a/telemetry", {"bucket": "5m"}, "bucket", "'1m', '1h' or '1d'"),
        ("/v1/meters/m-a1/telemetry", {"limit": "10001"}, "limit", "less than or equal to 10000"),
        ("/v1/meters/m-a1/telemetry", {"format": "xml"}, "format", "'json' or 'csv'"),
        (
            "/v1/meters/m-a1/telemetry",
            {"from": "2024-03-01T00:00:00Z", "to": "2024-03-10T00:00:00Z", "bucket": "1m"},
            "bucket",
            "12960 buckets of 1m, more than 10000",
        ),
    ],
)
async def test_bad_parameters_are_422(
    client: httpx.AsyncClient,
    dataset: Dataset,
    url: str,
    params: dict[str, str],
    parameter: str,
    fragment: str,
) -> None:
    r = await client.get(url, params=params)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_parameter"
    assert body["parameter"] == parameter
    assert fragment in body["message"]
    assert body["message"].startswith(f"{parameter}: ")


@pytest.mark.parametrize(
    ("body", "parameter", "fragment"),
    [
        ({}, "vehicleId", "Field required"),
        ({"vehicleId": "v 1"}, "vehicleId", "pattern"),
        ({"vehicleId": "v-1", "validFrom": "2024-03-10T00:00:00"}, "validFrom", "no UTC offset"),
        ({"vehicleId": "v-1", "validFrom": 1710000000}, "validFrom", "RFC 3339"),
        ({"vehicleId": "v-1", "colour": "red"}, "colour", "Extra inputs are not permitted"),
        ([], "body", "valid dictionary"),
    ],
)
async def test_bad_mapping_bodies_are_422(
    client: httpx.AsyncClient, body: object, parameter: str, fragment: str
) -> None:
    r = await client.put("/v1/mappings/meters/m-bad", json=body, headers=token(Scope.ADMIN))
    assert r.status_code == 422, r.text
    assert r.json()["parameter"] == parameter
    assert fragment in r.json()["message"]


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    r = await client.put(
        "/v1/mappings/meters/m-bad",
        content=b'{"vehicleId": ',
        headers={**token(Scope.ADMIN), "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["error"] == "malformed_body"


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({"Authorization": ""}, "missing Authorization"),  # replaces the client's own token
        ({"Authorization": "Basic dXNlcjpwdw=="}, "must be 'Bearer <token>'"),
        ({"Authorization": f"Bearer {FORGED}"}, "bad token signature"),
        ({"Authorization": "Bearer nonsense"}, "malformed token"),
    ],
)
async def test_bad_credentials_are_401(
    client: httpx.AsyncClient, dataset: Dataset, headers: dict[str, str], fragment: str
) -> None:
    r = await client.get(PERF, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"] == "unauthenticated"
    assert fragment in r.json()["message"]
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("scope", [Scope.DEVICE, Scope.FLEET])
async def test_ingest_tokens_cannot_read(client: httpx.AsyncClient, dataset: Dataset, scope: Scope) -> None:
    r = await client.get(PERF, headers=token(scope, "v-a"))
    assert r.status_code == 403
    assert "needs the analyst or admin scope" in r.json()["message"]


async def test_analysts_cannot_write_mappings(client: httpx.AsyncClient) -> None:
    r = await client.put("/v1/mappings/meters/m-new", json={"vehicleId": "v-a"})
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden"


async def test_admins_can_read(client: httpx.AsyncClient, dataset: Dataset) -> None:
    r = await client.get(PERF, headers=token(Scope.ADMIN))
    assert r.status_code == 200


async def test_auth_comes_before_parameter_checks(client: httpx.AsyncClient) -> None:
    r = await client.get(PERF, params={"from": "bad"}, headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401


@pytest.mark.parametrize(
    "url",
    [
        "/v1/analytics/performance/v-nobody",
        "/v1/vehicles/v-nobody/status",
        "/v1/meters/m-nobody/status",
        "/v1/mappings/meters/m-nobody",
        "/v1/vehicles/v-nobody/telemetry",
        "/v1/meters/m-nobody/telemetry?bucket=1h",
        "/v1/meters/m-nobody/telemetry?bucket=1d",
    ],
)
async def test_unknown_devices_are_404(client: httpx.AsyncClient, dataset: Dataset, url: str) -> None:
    r = await client.get(url)
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
    assert "nobody" in r.json()["message"]
