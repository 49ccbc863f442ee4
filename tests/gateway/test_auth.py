"""Who may post what: the authentication and authorization matrix of POST /v1/ingest."""

from __future__ import annotations

import pytest

from common.tokens import Scope, issue
from tests.gateway.helpers import Gateway, meter, vehicle
from tests.support import recent_minute, unique

OTHER_SECRET = "another-deployment-secret-0123456789abcdef"


def _tampered(token: str) -> str:
    body, _, sig = token.rpartition(".")
    return f"{body}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}"


@pytest.mark.parametrize(
    ("authorization", "why"),
    [
        (None, "missing Authorization"),
        ("", "missing Authorization"),
        ("Bearer", "must be 'Bearer <token>'"),
        ("Basic dXNlcjpwYXNz", "must be 'Bearer <token>'"),
        ("Bearer not-a-token", "malformed token"),
    ],
)
def test_401_without_valid_credentials(gateway: Gateway, authorization: str | None, why: str) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    with gateway.client(token="") as gw:
        r = gw.post("/v1/ingest", json=meter(unique("m")), headers=headers)
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"] == 'Bearer realm="ingest"'
    assert r.json()["error"] == "unauthenticated"
    assert why in r.json()["message"]


def test_401_tampered_or_foreign_token(gateway: Gateway) -> None:
    device = unique("m")
    good = issue(gateway.env["AUTH_SECRET"], Scope.DEVICE, device)
    foreign = issue(OTHER_SECRET, Scope.FLEET, "elsewhere")
    for token in (_tampered(good), foreign, _tampered(gateway.env["INGEST_TOKEN"])):
        with gateway.client(token=token) as gw:
            r = gw.post("/v1/ingest", json=meter(device))
        assert r.status_code == 401, r.text
        assert "bad token signature" in r.json()["message"]


def test_device_token_posts_its_own_readings(gateway: Gateway) -> None:
    device = unique("m")
    token = issue(gateway.env["AUTH_SECRET"], Scope.DEVICE, device)
    with gateway.client(token=token) as gw:
        r = gw.post("/v1/ingest", json=[meter(device), meter(device, recent_minute(1))])
    assert (r.status_code, r.json()) == (202, {"accepted": 2})


def test_device_token_may_not_post_for_another_device(gateway: Gateway) -> None:
    mine, other = unique("m"), unique("v")
    token = issue(gateway.env["AUTH_SECRET"], Scope.DEVICE, mine)
    with gateway.client(token=token) as gw:
        alone = gw.post("/v1/ingest", json=vehicle(other))
        mixed = gw.post("/v1/ingest", json=[meter(mine), vehicle(other)])
    assert alone.status_code == 403, alone.text
    assert alone.json()["index"] == 0
    assert mixed.status_code == 403, mixed.text
    assert mixed.json()["index"] == 1
    assert repr(other) in mixed.json()["message"]


def test_fleet_token_posts_any_device(gateway: Gateway) -> None:
    with gateway.client() as gw:  # the fleet token of the deployment
        r = gw.post("/v1/ingest", json=[meter(unique("m")), vehicle(unique("v"))])
    assert (r.status_code, r.json()) == (202, {"accepted": 2})


@pytest.mark.parametrize("scope", [Scope.ANALYST, Scope.ADMIN])
def test_403_read_side_tokens_cannot_ingest(gateway: Gateway, scope: Scope) -> None:
    token = issue(gateway.env["AUTH_SECRET"], scope, "someone")
    with gateway.client(token=token) as gw:
        r = gw.post("/v1/ingest", json=meter(unique("m")))
    assert r.status_code == 403, r.text
    assert f"a {scope.value} token cannot post readings" in r.json()["message"]


def test_analytics_token_of_the_deployment_is_refused(gateway: Gateway) -> None:
    with gateway.client(token=gateway.env["ANALYTICS_TOKEN"]) as gw:
        r = gw.post("/v1/ingest", json=meter(unique("m")))
    assert r.status_code == 403


def test_health_endpoints_need_no_token(gateway: Gateway) -> None:
    with gateway.client(token="") as gw:
        assert gw.get("/healthz").json() == {"status": "ok"}
        assert gw.get("/readyz").json() == {"status": "ready"}
        assert gw.get("/metrics").status_code == 200
