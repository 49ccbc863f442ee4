"""Credentials through a real gateway: expiry, key ids and rotation, kinds, malformed tokens."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import httpx

from common.keys import load_keyring
from common.tokens import Scope, issue
from energy_ingest.procs import ServiceProcess
from tests.gateway.conftest import start_gateway
from tests.gateway.helpers import Gateway, meter, vehicle
from tests.support import unique

OLD, NEW = "old-key-" + "o" * 32, "new-key-" + "n" * 32


def test_expired_token_is_401(gateway: Gateway) -> None:
    device = unique("m")
    token = issue(gateway.env["AUTH_SECRET"], Scope.METER, device, ttl_s=60, now=time.time() - 61)
    with gateway.client(token=token) as gw:
        r = gw.post("/v1/ingest", json=meter(device))
    assert r.status_code == 401, r.text
    assert "expired" in r.json()["message"]


def test_unknown_key_id_is_401(gateway: Gateway) -> None:
    device = unique("m")
    token = issue(load_keyring(keys=f"elsewhere:{OLD}"), Scope.METER, device)
    with gateway.client(token=token) as gw:
        r = gw.post("/v1/ingest", json=meter(device))
    assert r.status_code == 401, r.text
    assert "unknown key id 'elsewhere'" in r.json()["message"]


def test_non_ascii_signature_is_401_not_500(gateway: Gateway) -> None:
    device = unique("m")
    token = issue(gateway.env["AUTH_SECRET"], Scope.METER, device)
    for bad in (token[:-1] + "é", token[:-2] + "☃"):
        r = httpx.post(
            f"{gateway.url}/v1/ingest",
            json=meter(device),
            headers={b"Authorization": f"Bearer {bad}".encode()},
            timeout=10,
        )
        assert r.status_code == 401, r.text
        assert "malformed token" in r.json()["message"]


def test_meter_token_may_not_post_a_vehicle_of_the_same_id(gateway: Gateway) -> None:
    device = unique("x")
    meter_token = issue(gateway.env["AUTH_SECRET"], Scope.METER, device)
    vehicle_token = issue(gateway.env["AUTH_SECRET"], Scope.VEHICLE, device)
    with gateway.client(token=meter_token) as gw:
        own = gw.post("/v1/ingest", json=meter(device))
        other_kind = gw.post("/v1/ingest", json=[meter(device), vehicle(device)])
    with gateway.client(token=vehicle_token) as gw:
        as_vehicle = gw.post("/v1/ingest", json=vehicle(device))
        as_meter = gw.post("/v1/ingest", json=meter(device))
    assert (own.status_code, as_vehicle.status_code) == (202, 202), (own.text, as_vehicle.text)
    assert other_kind.status_code == 403, other_kind.text
    assert other_kind.json()["index"] == 1
    assert "may only post meter readings" in other_kind.json()["message"]
    assert as_meter.status_code == 403, as_meter.text


def test_charger_token_cannot_post_over_http(gateway: Gateway) -> None:
    token = issue(gateway.env["AUTH_SECRET"], Scope.CHARGER, "cp-1")
    with gateway.client(token=token) as gw:
        r = gw.post("/v1/ingest", json=meter("cp-1"))
    assert r.status_code == 403, r.text
    assert "charger tokens are for OCPP" in r.json()["message"]


def test_rotation_without_downtime(stack_env: dict[str, str]) -> None:
    """Old-key tokens work while both keys are configured, and stop when the old key goes."""
    device = unique("m")
    old_token = issue(load_keyring(keys=f"k1:{OLD}"), Scope.METER, device)
    both = {"AUTH_SECRET": "", "AUTH_KEYS": f"k2:{NEW},k1:{OLD}"}
    new_token = issue(load_keyring(keys=both["AUTH_KEYS"]), Scope.METER, device)
    assert new_token.split(".")[1] == "k2"

    def post(gw: Gateway, token: str) -> httpx.Response:
        with gw.client(token=token) as client:
            return client.post("/v1/ingest", json=meter(device))

    gateway = contextlib.contextmanager(start_gateway)
    with gateway("gateway-rot-both", stack_env, **both) as gw:
        during = (post(gw, old_token).status_code, post(gw, new_token).status_code)
    with gateway("gateway-rot-new", stack_env, AUTH_SECRET="", AUTH_KEYS=f"k2:{NEW}") as gw:
        after_old, after_new = post(gw, old_token), post(gw, new_token)
    assert during == (202, 202)
    assert after_old.status_code == 401, after_old.text
    assert "unknown key id 'k1'" in after_old.json()["message"]
    assert after_new.status_code == 202, after_new.text


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def test_only_verifiers_receive_the_token_keys(gateway: Gateway, consumer: ServiceProcess) -> None:
    """The consumer started from the provisioned environment holds no key material."""
    secret = gateway.env["AUTH_SECRET"]
    seen_by_consumer = _environ(consumer.pid)
    assert not {k for k in seen_by_consumer if k.startswith("AUTH_") or k.endswith("_TOKEN")}
    assert not [k for k, v in seen_by_consumer.items() if secret in v]
    assert "DATABASE_URL" not in seen_by_consumer  # the owner's URL: no service gets it
    assert seen_by_consumer["CONSUMER_DATABASE_URL"] == gateway.env["CONSUMER_DATABASE_URL"]
    assert _environ(gateway.proc.pid)["AUTH_SECRET"] == secret
