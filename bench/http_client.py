"""A lean HTTP/1.1 keep-alive client for load generation: pre-rendered requests, one in flight per
connection, answers read by their Content-Length.

The gateway benchmark runs its load process on the same two cores as the gateway and Kafka.
aiohttp spent about 150 us of CPU per single-reading request there (43 % of a core at
2,900 requests/s), CPU that real devices spend on their own machines. This client renders
each request's bytes once and parses only the status line and Content-Length of the answer,
so the cores go to the system under test. It is not a general client: no redirects, no
chunked answers (it raises), no TLS.
"""

from __future__ import annotations

import asyncio
from typing import cast
from urllib.parse import urlsplit


class ProtocolError(Exception):
    """The server answered something this client does not read (or closed the connection)."""


def render_post(url: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    """The bytes of ``POST path`` with ``headers`` and ``body`` to the server at ``url``."""
    host = urlsplit(url).netloc
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _framing(head: bytes) -> tuple[int, int, bool]:
    """The answer's status, its Content-Length, and whether the server closes the connection after it."""
    try:
        status = int(head[9:12])
    except ValueError:
        raise ProtocolError(f"not an HTTP status line: {head[:40]!r}") from None
    length, closes = None, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip()
        if name == b"content-length" and value.isdigit():
            length = int(value)
        elif name == b"transfer-encoding":
            raise ProtocolError(f"answer with Transfer-Encoding {value!r}; only Content-Length")
        elif name == b"connection":
            closes = value.lower() == b"close"
    if length is None:
        raise ProtocolError("answer without Content-Length")
    return status, length, closes


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self._buf = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._transport: asyncio.WriteTransport | None = None
        self._lost: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.WriteTransport, transport)  # uvloop's is no asyncio.Transport

    def data_received(self, data: bytes) -> None:
        self._buf += data
        end = self._buf.find(b"\r\n\r\n")
        if end < 0 or self._waiter is None or self._waiter.done():
            return
        head = bytes(self._buf[:end])
        try:
            status, length, closes = _framing(head)
        except ProtocolError as exc:
            self._waiter.set_exception(exc)
            return
        total = end + 4 + length
        if len(self._buf) >= total:
            body = bytes(self._buf[end + 4 : total])
            del self._buf[:total]
            if closes:
                self._lost = ProtocolError("the server closed the connection")
            self._waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = ProtocolError(f"connection closed: {exc!r}")
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(self._lost)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        if self._lost is not None or self._transport is None:
            raise ProtocolError("connection closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return await self._waiter

    @property
    def closed(self) -> bool:
        return self._lost is not None

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class LeanClient:
    """One keep-alive connection to ``url``; reconnects after the server closed it."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"{url!r}: only http://host:port URLs")
        self._host, self._port = parts.hostname, parts.port or 80
        self._conn: _Connection | None = None

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """Send pre-rendered ``request`` bytes; the answer's status and body.

        Raises :class:`ProtocolError` if the connection broke before the answer (the
        request may or may not have been served); the next call opens a new connection.
        """
        if self._conn is not None and self._conn.closed:
            self.close()  # the server said Connection: close
        if self._conn is None:
            _, self._conn = await asyncio.get_running_loop().create_connection(
                _Connection, self._host, self._port
            )
        try:
            return await self._conn.exchange(request)
        except ProtocolError:
            self.close()
            raise

    def close(self) -> None:
        """Close the connection (the next :meth:`send` opens another)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
