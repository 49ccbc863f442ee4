"""Bounded work per request and slow or broken clients, against real gateway processes.

- a 422 lists at most 100 errors and counts them all; its size is bounded whatever the body;
- a body (or headers) trickled in is cut off at ``REQUEST_READ_TIMEOUT_S``;
- beyond ``MAX_CONCURRENT_REQUESTS`` a request gets 503 with ``Retry-After``;
- a client that disconnects mid-body is counted and logged at INFO, without a traceback;
- with a certificate and key the gateway serves HTTPS.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack import free_port
from energy_ingest.procs import ServiceProcess
from tests.gateway.conftest import start_gateway
from tests.gateway.helpers import Gateway, meter
from tests.tls import make_certificate, wait_https

EIGHT_MIB = 8 * 1024 * 1024
ANSWER_BOUND = 64 * 1024
"""No 422 may be larger: 100 errors of a cut field and message, and the summary."""


@pytest.fixture(scope="module")
def big_gateway(stack_env: dict[str, str]) -> Iterator[Gateway]:
    """A gateway with the default limits (8 MiB, 10,000 readings)."""
    yield from start_gateway("gateway-big", stack_env, MAX_BODY_BYTES=str(EIGHT_MIB), MAX_RECORDS="10000")


@pytest.fixture(scope="module")
def strict_gateway(stack_env: dict[str, str]) -> Iterator[Gateway]:
    """A gateway with a 2 s read deadline, 2 requests at once, logging at INFO."""
    yield from start_gateway(
        "gateway-strict",
        stack_env,
        REQUEST_READ_TIMEOUT_S="2",
        MAX_CONCURRENT_REQUESTS="2",
        LOG_LEVEL="INFO",
    )


def _bad(device: str) -> dict[str, object]:
    """A meter reading with four invalid fields."""
    return meter(device, kwhConsumedAc=-1, voltage="high", timestamp="yesterday", meterId="x" * 80)


def test_a_422_lists_100_errors_and_counts_all(gateway: Gateway) -> None:
    body = [_bad(f"m-{i}") for i in range(50)]  # 50 readings x 4 errors
    with gateway.client() as c:
        r = c.post("/v1/ingest", json=body)
    assert r.status_code == 422, r.text
    answer = r.json()
    assert len(answer["errors"]) == 100
    assert answer["errorCount"] == 200
    assert [e["index"] for e in answer["errors"]] == sorted(e["index"] for e in answer["errors"])
    assert answer["errors"][0]["index"] == 0
    assert "50 reading(s) invalid, 200 error(s) in all, the first 100 listed" in answer["message"]


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("10,000 bad readings", b"[" + b",".join([json.dumps(_bad("m")).encode()] * 10_000) + b"]"),
        ("an 8 MiB type", b'{"type":"' + b"m" * (EIGHT_MIB - 64) + b'"}'),
        ("an 8 MiB field name", b'{"type":"meter","' + b"k" * (EIGHT_MIB - 64) + b'":1}'),
        ("an 8 MiB type on an NDJSON line", b'{"type":"' + b"v" * (EIGHT_MIB - 64) + b'"}'),
    ],
)
def test_the_answer_to_a_huge_invalid_body_is_small(big_gateway: Gateway, name: str, body: bytes) -> None:
    kind = "application/x-ndjson" if "NDJSON" in name else "application/json"
    with big_gateway.client(**{"Content-Type": kind}) as c:
        r = c.post("/v1/ingest", content=body)
    assert r.status_code == 422, r.text[:500]
    assert len(r.content) <= ANSWER_BOUND, f"{name}: a {len(r.content):,}-byte answer"
    assert r.json()["errorCount"] >= 1


def _request_head(gateway: Gateway, length: int) -> bytes:
    token = gateway.env["INGEST_TOKEN"]
    return (
        f"POST /v1/ingest HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def _connect(gateway: Gateway) -> socket.socket:
    host, port = gateway.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _trickle(sock: socket.socket, data: bytes, every_s: float, give_up_s: float) -> tuple[float, bytes]:
    """Send ``data`` a byte at a time; returns when the server answered or closed, and what it said."""
    started = time.monotonic()
    sock.settimeout(every_s)
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
        except OSError:  # reset: the server closed
            break
        try:
            answer = sock.recv(65536)
        except TimeoutError:
            if time.monotonic() - started > give_up_s:
                return time.monotonic() - started, b"<still open>"
            continue
        except OSError:
            answer = b""
        took = time.monotonic() - started
        return took, answer + _rest(sock) if answer else answer
    return time.monotonic() - started, b""


def _rest(sock: socket.socket, timeout_s: float = 5.0) -> bytes:
    """What the server still sends after its first packet, until it closes (an answer's body
    may come in a packet of its own)."""
    sock.settimeout(timeout_s)
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, OSError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_trickled_body_is_cut_off_at_the_deadline(strict_gateway: Gateway) -> None:
    payload = json.dumps(meter("m-slow")).encode()
    with _connect(strict_gateway) as sock:
        sock.sendall(_request_head(strict_gateway, len(payload)))
        took, answer = _trickle(sock, payload, every_s=0.5, give_up_s=8)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"request_timeout" in answer
    assert took < 4, f"cut off after {took:.1f} s; the deadline is 2 s"


def test_trickled_headers_are_cut_off_at_the_deadline(strict_gateway: Gateway) -> None:
    with _connect(strict_gateway) as sock:
        took, answer = _trickle(sock, _request_head(strict_gateway, 10), every_s=0.5, give_up_s=8)
    assert answer == b"", answer[:200]  # closed without an answer
    assert took < 4, f"closed after {took:.1f} s; the deadline is 2 s"


def test_over_the_concurrency_limit_is_503_with_retry_after(strict_gateway: Gateway) -> None:
    holders = [_connect(strict_gateway) for _ in range(2)]
    try:
        for sock in holders:  # two requests in progress, waiting for their bodies
            sock.sendall(_request_head(strict_gateway, 100))
        time.sleep(0.3)
        with strict_gateway.client() as c:
            r = c.post("/v1/ingest", json=meter("m-busy"))
            health = c.get("/healthz")
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "overloaded"
        assert int(r.headers["Retry-After"]) >= 1
        assert health.status_code == 200
    finally:
        for sock in holders:
            sock.close()
    time.sleep(0.3)
    with strict_gateway.client() as c:
        assert c.post("/v1/ingest", json=meter("m-busy")).status_code == 202


def test_a_client_disconnect_is_counted_and_logged_at_info(strict_gateway: Gateway) -> None:
    metric = "http_client_disconnects_total"
    before = strict_gateway.metric(metric)
    with _connect(strict_gateway) as sock:
        sock.sendall(_request_head(strict_gateway, 1000) + b'[{"type":"meter",')
        time.sleep(0.3)
    deadline = time.monotonic() + 5
    while strict_gateway.metric(metric) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert strict_gateway.metric(metric) == before + 1
    entries = [
        json.loads(line) for line in strict_gateway.proc.tail(200).splitlines() if line.startswith("{")
    ]
    said = [e for e in entries if "client disconnected" in e["msg"]]
    assert said, entries
    assert said[-1]["level"] == "info"
    assert "exc" not in said[-1]
    assert not [e for e in entries if e["level"] in ("error", "critical")], entries


def test_the_gateway_serves_https(stack_env: dict[str, str], tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    port = free_port()
    env = stack_env | {
        "GATEWAY_PORT": str(port),
        "GATEWAY_TLS_CERT_FILE": str(cert),
        "GATEWAY_TLS_KEY_FILE": str(key),
    }
    proc = ServiceProcess("gateway-tls", ["gateway"], env, sink=open("/dev/null", "w")).start()  # noqa: SIM115
    try:
        context = ssl.create_default_context(cafile=str(cert))
        url = f"https://127.0.0.1:{port}"
        assert wait_https(f"{url}/readyz", context, proc, expect=200).json() == {"status": "ready"}
        headers = {"Authorization": f"Bearer {stack_env['INGEST_TOKEN']}"}
        r = httpx.post(f"{url}/v1/ingest", json=meter("m-tls"), headers=headers, verify=context, timeout=30)
        assert r.status_code == 202, r.text
        with pytest.raises(httpx.HTTPError):  # plain HTTP is not served on that port
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    finally:
        proc.stop()
