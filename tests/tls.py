"""A self-signed certificate for HTTPS tests, and waiting for a service to answer over TLS."""

from __future__ import annotations

import ssl
import subprocess
import time
from pathlib import Path

import httpx

from energy_ingest.procs import ServiceProcess

OPENSSL_REQ = ("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1")


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM files), made with openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    names = ("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")
    subprocess.run(
        [*OPENSSL_REQ, *names, "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True
    )
    return cert, key


def wait_https(
    url: str, context: ssl.SSLContext, proc: ServiceProcess, timeout: float = 90, expect: int | None = None
) -> httpx.Response:
    """GET ``url`` over TLS (verified against ``context``) once the service answers, with
    ``expect`` if given (the last answer when the time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        try:
            r = httpx.get(url, verify=context, timeout=5)
            if expect is None or r.status_code == expect or time.monotonic() > deadline:
                return r
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.3)
