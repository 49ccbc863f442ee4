"""The gateway benchmark's lean HTTP/1.1 client against a real HTTP server (the standard library's)."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar

import pytest
import uvloop

from bench.http_client import LeanClient, ProtocolError, render_post

T = TypeVar("T")


class _Echo(BaseHTTPRequestHandler):
    """``POST /echo``: answers a header and the body it got; ``/close``: the same, then closes;
    ``/drop``: closes without answering; ``/chunked``: a chunked answer."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # head and body go in two writes: no 40 ms delayed-ACK stall

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/drop":  # no answer at all
            self.close_connection = True
            return
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"2\r\nok\r\n0\r\n\r\n")
            return
        answer = self.headers.get("X-Tag", "").encode() + b":" + body
        self.send_response(201 if self.path == "/echo" else 202)
        self.send_header("Content-Length", str(len(answer)))
        if self.path == "/close":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _run(make: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await make()

    return uvloop.run(main())  # as the benchmark's load process runs it


def test_answers_on_one_kept_alive_connection(url: str) -> None:
    client = LeanClient(url)

    async def exchange() -> list[tuple[int, bytes]]:
        answers = []
        for i in range(50):  # bodies from empty to a few KiB: answers split over reads too
            body = b"x" * (i * 97)
            answers.append(await client.send(render_post(url, "/echo", {"X-Tag": f"t{i}"}, body)))
        client.close()
        return answers

    answers = _run(exchange)
    assert answers == [(201, f"t{i}:".encode() + b"x" * (i * 97)) for i in range(50)]


def test_connection_close_is_honoured_and_a_dropped_connection_is_an_error(url: str) -> None:
    client = LeanClient(url)

    async def exchange() -> tuple[tuple[int, bytes], tuple[int, bytes], str, tuple[int, bytes]]:
        first = await client.send(render_post(url, "/close", {}, b"a"))
        second = await client.send(render_post(url, "/echo", {}, b"b"))  # on a new connection
        try:
            await client.send(render_post(url, "/drop", {}, b"c"))
            error = "none"
        except ProtocolError as exc:
            error = str(exc)
        again = await client.send(render_post(url, "/echo", {}, b"d"))
        client.close()
        return first, second, error, again

    first, second, error, again = _run(exchange)
    assert (first, second, again) == ((202, b":a"), (201, b":b"), (201, b":d"))
    assert error.startswith("connection closed")


def test_chunked_answers_are_refused_with_a_clear_error(url: str) -> None:
    client = LeanClient(url)

    async def exchange() -> tuple[int, bytes]:
        try:
            return await client.send(render_post(url, "/chunked", {}, b""))
        finally:
            client.close()

    with pytest.raises(ProtocolError, match="Transfer-Encoding"):
        _run(exchange)


def test_only_plain_http_urls() -> None:
    with pytest.raises(ValueError, match="only http://"):
        LeanClient("https://example.invalid")


def test_rendered_request_carries_host_length_and_headers() -> None:
    raw = render_post("http://127.0.0.1:8000", "/v1/ingest", {"Authorization": "Bearer t"}, b"{}")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert body == b"{}"
    assert head.split(b"\r\n") == [
        b"POST /v1/ingest HTTP/1.1",
        b"Host: 127.0.0.1:8000",
        b"Content-Length: 2",
        b"Authorization: Bearer t",
    ]
