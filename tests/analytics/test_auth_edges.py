"""The analytics API over a real socket: a token before any body is read, bodies capped.

A real server process (``energy-ingest analytics``), because the point is what happens
on the wire: a client that announces 50 MB and sends a few bytes must get its 401 at
once, not hold a request open while the server waits for a body it never reads.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from common.tokens import Scope, issue
from devstack import free_port
from energy_ingest.procs import ServiceProcess, wait_http

from .support import SECRET, Database, create_database

LIMIT = 64 * 1024
PROMPT_S = 3.0


@pytest.fixture(scope="module")
def edges_db(pg_admin_url: str) -> Database:
    """A database of its own: these tests write mappings, which the main data set's
    expected rankings know nothing of."""
    return create_database(pg_admin_url, "analytics_auth_edges")


@pytest.fixture(scope="module")
def api(edges_db: Database) -> Iterator[str]:
    """An analytics API process on its own database; yields its ``host:port``."""
    port = free_port()
    env = {
        "ANALYTICS_DATABASE_URL": edges_db.reader,
        "MAPPING_DATABASE_URL": edges_db.mapper,
        "AUTH_SECRET": SECRET,
        "ANALYTICS_PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    sink = None if os.environ.get("TEST_SERVICE_OUTPUT") else open(os.devnull, "w")  # noqa: SIM115
    proc = ServiceProcess("analytics-edges", ["analytics"], env, sink=sink).start()
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", 60, proc)
        yield f"127.0.0.1:{port}"
    finally:
        proc.stop()
        if sink is not None:
            sink.close()


def _raw(address: str, head: str, body: bytes = b"") -> tuple[int, str, float]:
    """Send ``head`` + ``body`` (nothing more) and read the answer: status, text, seconds."""
    host, port = address.split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=PROMPT_S) as s:
        s.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError:
            pytest.fail(f"no answer within {PROMPT_S} s (got {answer!r}): the server is waiting for the body")
    text = answer.decode(errors="replace")
    return int(text.split(" ", 2)[1]), text, time.monotonic() - started


def _put_head(length: int, token: str | None = None) -> str:
    auth = f"Authorization: Bearer {token}\n" if token else ""
    return (
        "PUT /v1/mappings/meters/m-edge HTTP/1.1\nHost: analytics\nContent-Type: application/json\n"
        f"{auth}Content-Length: {length}\n"
    )


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_unauthenticated_big_body_is_refused_before_it_is_read(api: str, method: str) -> None:
    head = _put_head(50 * 1024 * 1024).replace("PUT", method, 1)
    status, text, seconds = _raw(api, head, b'{"vehicleId": "v-')
    assert status == 401, text
    assert "missing Authorization" in text
    assert seconds < PROMPT_S


def test_invalid_token_with_a_body_is_refused_before_it_is_read(api: str) -> None:
    status, text, _ = _raw(api, _put_head(50 * 1024 * 1024, "ei2.nope"), b"{")
    assert status == 401, text
    assert "malformed token" in text


def test_oversized_authorized_body_is_413(api: str) -> None:
    admin = issue(SECRET, Scope.ADMIN, "root")
    status, text, _ = _raw(api, _put_head(LIMIT + 1, admin), b"{")
    assert status == 413, text
    assert f'"limit":{LIMIT}' in text.replace(" ", "")


def test_oversized_chunked_body_is_413(api: str) -> None:
    admin = issue(SECRET, Scope.ADMIN, "root")

    def chunks() -> Iterator[bytes]:
        yield b'{"vehicleId": "v-1", "pad": "'
        for _ in range(LIMIT // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    r = httpx.put(
        f"http://{api}/v1/mappings/meters/m-edge",
        content=chunks(),
        headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "too_large"


def test_small_chunked_body_still_reaches_the_route(api: str) -> None:
    admin = issue(SECRET, Scope.ADMIN, "root")
    r = httpx.put(
        f"http://{api}/v1/mappings/meters/m-edge-chunked",
        content=iter([b'{"vehicleId": ', b'"v-edge-1"}']),
        headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert r.json()["current"]["vehicleId"] == "v-edge-1"


def test_scopes_still_checked_by_the_routes(api: str) -> None:
    analyst = issue(SECRET, Scope.ANALYST, "ann")
    r = httpx.put(
        f"http://{api}/v1/mappings/meters/m-edge",
        json={"vehicleId": "v-1"},
        headers={"Authorization": f"Bearer {analyst}"},
        timeout=10,
    )
    assert r.status_code == 403, r.text
    expired = issue(SECRET, Scope.ANALYST, "ann", ttl_s=1, now=time.time() - 10)
    r = httpx.get(f"http://{api}/v1/vehicles/v-1/status", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401, r.text
    assert "expired" in r.json()["message"]
