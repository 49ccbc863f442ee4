"""Bearer tokens of the analytics API, and the gate in front of request bodies.

FastAPI reads (and parses) a route's body before it runs the route's dependencies, so a
caller without a token could make the API read a body of any size. :class:`BodyGate`
is plain ASGI middleware in front of the routes: a request that carries a body must
first show a token that verifies (401 otherwise, before a byte is read), then the body
must fit ``max_bytes`` (413: at once from ``Content-Length``, or while a chunked body
arrives). Scopes are still checked by the routes' dependencies.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from analytics_api.errors import ApiError, TooLarge, Unauthenticated
from common.tokens import InvalidTokenError, Principal
from common.verifier import TokenVerifier


def bearer_principal(verifier: TokenVerifier, authorization: str | None) -> Principal:
    """The caller of an ``Authorization`` header; :class:`Unauthenticated` if none or bad."""
    if not authorization:
        raise Unauthenticated("missing Authorization: Bearer <token> header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be 'Bearer <token>'")
    try:
        return verifier(token.strip())
    except InvalidTokenError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from None


class BodyGate:
    """A verified token before any body is read; bodies capped at ``max_bytes``."""

    def __init__(self, app: ASGIApp, verifier: TokenVerifier | None, max_bytes: int) -> None:
        self.app = app
        self.verifier = verifier
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        chunked = "transfer-encoding" in headers
        if not chunked and (length is None or length.strip() == "0"):
            await self.app(scope, receive, send)  # no body: the routes check the token
            return
        try:
            if self.verifier is not None:
                bearer_principal(self.verifier, headers.get("authorization"))
            if length is not None and not chunked:
                if not length.isdigit() or int(length) > self.max_bytes:
                    raise self._too_large(f"body of {length} bytes")
                await self.app(scope, receive, send)
                return
            body = await self._read_capped(receive)
        except ApiError as err:
            headers_out = {**err.headers, "Connection": "close"}
            await JSONResponse(err.body(), status_code=err.status, headers=headers_out)(scope, receive, send)
            return
        if body is not None:
            await self.app(scope, _replay(body, receive), send)

    async def _read_capped(self, receive: Receive) -> bytes | None:
        """A chunked body, counted as it arrives (``None``: the client went away)."""
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                raise self._too_large("chunked body")
            if not message.get("more_body", False):
                return bytes(body)

    def _too_large(self, what: str) -> TooLarge:
        return TooLarge(
            f"{what} over the limit of {self.max_bytes} bytes", limit=self.max_bytes, unit="bytes"
        )


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields the buffered body once, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
