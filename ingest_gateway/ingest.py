"""POST /v1/ingest, step by step: authenticate, read, validate, authorize, rate-limit, publish."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.types import Receive

from common.verifier import TokenVerifier
from ingest_gateway import metrics
from ingest_gateway.auth import authenticate, authorize_devices
from ingest_gateway.errors import KafkaUnavailable, RateLimited, TooLarge, UnsupportedMediaType, retry_after
from ingest_gateway.parse import ReadingsParser, media_type
from ingest_gateway.publisher import Publisher
from ingest_gateway.ratelimit import DeviceRateLimiter
from ingest_gateway.settings import GatewaySettings
from schemas import device_id_of


async def read_body(headers: Headers, receive: Receive, limit: int) -> bytes:
    """The whole body, or 413 as soon as it is known to exceed ``limit`` bytes.

    Read from the ASGI messages as Starlette's ``Request.stream`` does (a disconnect
    raises ``ClientDisconnect``), without a ``Request`` object per request.
    """
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedMediaType(
            f"Content-Encoding {encoding!r} is not supported; send the body uncompressed"
        )
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"body of {declared} bytes; the limit is {limit}", limit=limit, unit="bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"body over {limit} bytes", limit=limit, unit="bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)  # one chunk: that bytes object itself


class Ingestor:
    """The ingest pipeline of one app; returns how many readings Kafka acknowledged."""

    def __init__(self, settings: GatewaySettings, publisher: Publisher, limiter: DeviceRateLimiter) -> None:
        self._s = settings
        self._publisher = publisher
        self._limiter = limiter
        self._parser = ReadingsParser(settings.max_records, rules=settings)
        self._verifier = None if settings.auth_disabled else TokenVerifier(settings.keyring())

    async def __call__(self, headers: Headers, receive: Receive) -> int:
        received = datetime.now(UTC)
        principal = authenticate(headers.get("authorization"), self._verifier, self._s.auth_disabled)
        kind = media_type(headers.get("content-type"))
        body = await read_body(headers, receive, self._s.max_body_bytes)
        readings = await self._parser.parse_async(body, kind, received)
        authorize_devices(principal, readings)
        # One reading (the common request) without building Counters (3 us).
        wanted = Counter(map(device_id_of, readings)) if len(readings) > 1 else {device_id_of(readings[0]): 1}
        self._take_tokens(wanted)
        try:
            await self._publisher.publish(readings, int(received.timestamp() * 1000))
        except KafkaUnavailable:
            self._limiter.give_back(wanted)
            raise
        if len(readings) == 1:
            metrics.READINGS_BY(readings[0].type).inc()
        else:
            for kind_, n in Counter(r.type for r in readings).items():
                metrics.READINGS_BY(kind_).inc(n)
        return len(readings)

    def _take_tokens(self, wanted: Mapping[str, int]) -> None:
        limiter = self._limiter
        over = limiter.over_burst(wanted)
        if over is not None:
            device, n = over
            raise TooLarge(
                f"{n} readings for device {device!r} in one request; a device may send at most "
                f"{limiter.burst} at once: split the request",
                limit=limiter.burst,
                unit="records per device",
                device=device,
            )
        wait = limiter.try_take(wanted)
        if wait:
            header = retry_after(wait)
            raise RateLimited(
                f"over the per-device rate ({limiter.rate:g}/s, burst {limiter.burst}); "
                f"retry in {header['Retry-After']} s",
                headers=header,
            )
