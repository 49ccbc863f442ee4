"""The OCPP handshake: HTTP Basic with a charger token of that charge point, refused with
401 otherwise; an OCPP subprotocol or 400; a second connection replaces the first; TLS
(security profile 2) on a gateway that serves TLS."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ocpp.v16 import call as call16
from websockets.exceptions import InvalidStatus

from common.tokens import KeyRing, Scope, issue
from tests.gateway.helpers import Gateway
from tests.gateway.ocpp_peer import basic, charge_point, charger_token, open_ws, own_gateway, ws_url
from tests.support import unique
from tests.tls import make_certificate


async def refused(url: str, subprotocols: list[str], headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    """The HTTP status and headers of a refused handshake."""
    with pytest.raises(InvalidStatus) as caught:
        async with open_ws(url, subprotocols, headers):
            pass
    response = caught.value.response
    return response.status_code, {k.lower(): v for k, v in response.headers.raw_items()}


async def test_wrong_credentials_are_refused_with_401(gateway: Gateway) -> None:
    env, cp, other = gateway.env, unique("cp"), unique("cp")
    url = ws_url(gateway.url, cp)
    secret = env["AUTH_SECRET"]
    cases = {
        "missing": {},
        "garbage": basic(cp, "not-a-token"),
        "another charger's token": basic(cp, charger_token(env, other)),
        "expired": basic(cp, charger_token(env, cp, ttl_s=60, now=time.time() - 120)),
        "unknown key id": basic(cp, issue(KeyRing.single("r" * 32, kid="retired"), Scope.CHARGER, cp)),
        "bad signature": basic(cp, issue("s" * 32, Scope.CHARGER, cp)),
        "a meter token": basic(cp, issue(secret, Scope.METER, cp)),
        "user is not the charge point": basic(other, charger_token(env, cp)),
        "bearer instead of basic": {"Authorization": f"Bearer {charger_token(env, cp)}"},
    }
    for name, headers in cases.items():
        status, answer = await refused(url, ["ocpp1.6"], headers)
        assert status == 401, name
        assert answer["www-authenticate"].startswith("Basic"), name
    async with charge_point(gateway.url, cp, charger_token(env, cp), "1.6") as (client, _):
        assert (await client.call(call16.Heartbeat(), suppress=False)).current_time


async def test_subprotocol_and_id_are_checked(gateway: Gateway) -> None:
    cp = unique("cp")
    auth = basic(cp, charger_token(gateway.env, cp))
    assert (await refused(ws_url(gateway.url, cp), ["ocpp1.5"], auth))[0] == 400
    assert (await refused(ws_url(gateway.url, cp), [], auth))[0] == 400
    long_id = "c" * 49
    assert (await refused(ws_url(gateway.url, long_id), ["ocpp1.6"], basic(long_id, "x")))[0] == 400
    # both offered: the charge point's first choice wins
    async with open_ws(ws_url(gateway.url, cp), ["ocpp2.0.1", "ocpp1.6"], auth) as ws:
        assert ws.subprotocol == "ocpp2.0.1"


async def test_a_second_connection_replaces_the_first(gateway: Gateway) -> None:
    cp = unique("cp")
    token = charger_token(gateway.env, cp)
    async with charge_point(gateway.url, cp, token, "1.6") as (first, first_wire):
        assert await first.call(call16.Heartbeat(), suppress=False)
        async with charge_point(gateway.url, cp, token, "1.6") as (second, _):
            await asyncio.wait_for(first_wire.ws.wait_closed(), 15)
            assert (first_wire.ws.close_code, first_wire.ws.close_reason) == (
                1000,
                "replaced by a new connection of this charge point",
            )
            assert (await second.call(call16.Heartbeat(), suppress=False)).current_time


@pytest.fixture(scope="module")
def tls_gateway(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Gateway, Path]]:
    cert, key = make_certificate(Path(tmp_path_factory.mktemp("ocpp-tls")))
    env = {"GATEWAY_TLS_CERT_FILE": str(cert), "GATEWAY_TLS_KEY_FILE": str(key)}
    with own_gateway("gateway-ocpp-tls", stack_env, **env) as gw:
        yield gw, cert


async def test_security_profile_2_over_tls(tls_gateway: tuple[Gateway, Path]) -> None:
    gateway, cert = tls_gateway
    context = ssl.create_default_context(cafile=str(cert))
    cp = unique("cp")
    url = ws_url(gateway.url, cp)
    assert url.startswith("wss://")
    headers = basic(cp, charger_token(gateway.env, cp))
    async with open_ws(url, ["ocpp1.6"], headers, ssl=context) as ws:
        await ws.send('[2,"1","Heartbeat",{}]')
        assert str(await ws.recv()).startswith('[3,"1",{"currentTime":')
    with pytest.raises(InvalidStatus) as caught:
        async with open_ws(url, ["ocpp1.6"], basic(cp, "wrong"), ssl=context):
            pass
    assert caught.value.response.status_code == 401
