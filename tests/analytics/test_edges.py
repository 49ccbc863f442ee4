"""Edges of the analytics API: out-of-range times, database errors that name no server,
HTTPS, and the slow-client deadline."""

from __future__ import annotations

import logging
import socket
import ssl
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from analytics_api.db import translated
from analytics_api.errors import DatabaseUnavailable
from devstack import free_port
from energy_ingest.procs import ServiceProcess
from tests.tls import make_certificate, wait_https

from .support import Database

ROUTES = ["/v1/analytics/performance/v-a", "/v1/analytics/fleet/efficiency", "/v1/meters/m-a1/telemetry"]


@pytest.mark.parametrize("url", ROUTES)
@pytest.mark.parametrize(
    "params",
    [
        {"to": "0001-01-01T00:00:01Z"},
        {"to": "9999-12-31T23:59:59Z"},
        {"from": "9999-12-31T00:00:00Z", "to": "9999-12-31T23:59:59Z"},
        {"from": "0001-01-01T00:00:00Z", "to": "0001-01-02T00:00:00Z"},
    ],
)
async def test_times_near_year_1_or_9999_are_422(
    client: httpx.AsyncClient, url: str, params: dict[str, str]
) -> None:
    r = await client.get(url, params=params)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_parameter"
    assert body["parameter"] in params
    assert "out of range" in body["message"]


async def test_a_database_error_names_no_server_or_role(
    main_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = main_db.reader.replace("reader-pw", "not-the-password")
    assert wrong != main_db.reader
    with caplog.at_level(logging.WARNING), pytest.raises(DatabaseUnavailable) as raised, translated(1000):
        await psycopg.AsyncConnection.connect(wrong)
    answer = str(raised.value.body())
    for secret in ("analytics_reader", "127.0.0.1", "password", "analytics_main", "FATAL"):
        assert secret not in answer, answer
    assert raised.value.status == 503
    assert raised.value.headers["Retry-After"] == "5"
    assert "analytics_reader" in caplog.text  # the detail is in the server's log


def test_the_analytics_api_serves_https_and_cuts_off_slow_headers(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    port = free_port()
    env = {
        "ANALYTICS_DATABASE_URL": "postgresql://nobody:pw@127.0.0.1:1/none",
        "AUTH_DISABLED": "true",
        "ANALYTICS_PORT": str(port),
        "ANALYTICS_TLS_CERT_FILE": str(cert),
        "ANALYTICS_TLS_KEY_FILE": str(key),
        "REQUEST_READ_TIMEOUT_S": "2",
        "LOG_LEVEL": "WARNING",
    }
    proc = ServiceProcess("analytics-tls", ["analytics"], env, sink=open("/dev/null", "w")).start()  # noqa: SIM115
    try:
        context = ssl.create_default_context(cafile=str(cert))
        r = wait_https(f"https://127.0.0.1:{port}/healthz", context, proc)
        assert r.status_code == 200
        assert r.json() == {"status": "ok"}
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            started = time.monotonic()
            tls.settimeout(0.5)
            closed = False
            for byte in b"GET /healthz HTTP/1.1\r\nHost: analytics\r\nX-Slow: " + b"z" * 20:
                try:
                    tls.sendall(bytes([byte]))
                    closed = tls.recv(1024) == b""
                except TimeoutError:
                    continue
                except OSError:
                    closed = True
                if closed:
                    break
            took = time.monotonic() - started
        assert closed, "the connection stayed open"
        assert took < 4, f"closed after {took:.1f} s; the deadline is 2 s"
    finally:
        proc.stop()
