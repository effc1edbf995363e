"""The ASGI layer in front of the API: bearer token first, then the body size, before anything is parsed.

The body is read here, counted as it arrives (chunked bodies included), and handed on only when it
is within the limit. A refused body is read on and thrown away, up to the limit again, so a client
that sent it gets the answer instead of a reset connection.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_REQUEST_BYTES = 8 * 1024 * 1024


def bearer_matches(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries exactly `token` (compared in constant time)."""
    if header is None:
        return False
    scheme, _, presented = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode("utf-8"), token.encode("utf-8"))


async def send_error(
    send: Send, status: int, error: str, remediation: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """Send a JSON `{"error", "remediation"}` response and close the connection after it."""
    body = json.dumps({"error": error, "remediation": remediation}).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"connection", b"close"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """Authenticate and bound the requests to `paths`; other paths pass untouched."""

    def __init__(self, app: ASGIApp, *, paths: Iterable[str], token: str | None, max_bytes: int) -> None:
        self.app = app
        self.paths = frozenset(paths)
        self.token = token
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse with 401 or 413, or pass the request on with its body already read."""
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.token is not None and not bearer_matches(headers.get("authorization"), self.token):
            await self._discard(receive)
            await send_error(
                send,
                401,
                "missing or wrong bearer token",
                "send `Authorization: Bearer <token>` with the token the server was started with",
                [(b"www-authenticate", b'Bearer realm="govgate"')],
            )
            return
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._discard(receive)
            await self._too_large(send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > self.max_bytes:
                if more:
                    await self._discard(receive)
                await self._too_large(send)
                return
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _too_large(self, send: Send) -> None:
        await send_error(
            send,
            413,
            f"request body is over the {self.max_bytes}-byte limit",
            "send fewer or smaller files, or start the server with a larger --max-request-bytes",
        )

    async def _discard(self, receive: Receive) -> None:
        """Read and drop what is left of the body, up to the limit; past it the connection just closes."""
        left = self.max_bytes
        while left > 0:
            message = await receive()
            if message["type"] != "http.request":
                return
            left -= len(message.get("body", b""))
            if not message.get("more_body", False):
                return


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
