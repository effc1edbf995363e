"""An ASGI layer in front of an HTTP API: bearer token first, then the body size, before anything is parsed.

The body is read here, counted as it arrives (chunked bodies included), and handed on only when it
is within the limit and arrived within the body timeout (408 otherwise: a body that trickles in, or
a chunked body that never ends, never holds its connection for longer). A declared Content-Length
over the limit is answered at once, before any of the body is read.

A refused request is answered first, and what the client still sends is then read and thrown away
(up to the limit, within the body timeout) before the connection closes, so a client busy sending
gets the answer instead of a reset connection.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_REQUEST_BYTES = 8 * 1024 * 1024
DEFAULT_BODY_TIMEOUT_S = 30.0
RECEIVED_KEY = "gate.received"  # in the ASGI scope: time.monotonic() when the whole body was in


def bearer_matches(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries exactly `token` (compared in constant time)."""
    if header is None:
        return False
    scheme, _, presented = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode("utf-8"), token.encode("utf-8"))


async def send_error(
    send: Send,
    status: int,
    error: str,
    remediation: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
    *,
    complete: bool = True,
) -> None:
    """Send a JSON `{"error", "remediation"}` response that closes the connection after it.

    With `complete` false the whole body is sent but the response is left open: the client has its
    answer, and the server may still read from the request before it closes the connection.
    """
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
    await send({"type": "http.response.body", "body": body, "more_body": not complete})


class RequestGuard:
    """Authenticate and bound the requests to `paths`; other paths pass untouched."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        paths: Iterable[str],
        token: str | None,
        max_bytes: int,
        body_timeout: float = DEFAULT_BODY_TIMEOUT_S,
    ) -> None:
        self.app = app
        self.paths = frozenset(paths)
        self.token = token
        self.max_bytes = max_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse with 401, 408 or 413, or pass the request on with its body already read."""
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.token is not None and not bearer_matches(headers.get("authorization"), self.token):
            await send_error(
                send,
                401,
                "missing or wrong bearer token",
                "send `Authorization: Bearer <token>` with the token the server was started with",
                [(b"www-authenticate", b'Bearer realm="govgate"')],
                complete=False,
            )
            await self._discard_then_close(receive, send)
            return
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            await self._discard_then_close(receive, send)
            return
        body = bytearray()
        more = True
        try:
            async with asyncio.timeout(self.body_timeout):
                while more:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    body += message.get("body", b"")
                    more = bool(message.get("more_body", False))
                    if len(body) > self.max_bytes:
                        break
        except TimeoutError:
            await send_error(
                send,
                408,
                f"the request body did not arrive within {self.body_timeout:g} s",
                "send the whole body at once, or start the server with a larger --body-timeout",
            )
            return
        if len(body) > self.max_bytes:
            await self._too_large(send)
            if more:
                await self._discard_then_close(receive, send)
            else:
                await send({"type": "http.response.body", "body": b""})
            return
        # The request's time limit counts from here, so a wait for a thread counts against it too.
        scope[RECEIVED_KEY] = time.monotonic()
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _too_large(self, send: Send) -> None:
        await send_error(
            send,
            413,
            f"request body is over the {self.max_bytes}-byte limit",
            "send fewer or smaller files, or start the server with a larger --max-request-bytes",
            complete=False,
        )

    async def _discard_then_close(self, receive: Receive, send: Send) -> None:
        """Once the answer is out: read and drop what is left of the body, up to the limit and
        within the body timeout, then end the response (which closes the connection)."""
        left = self.max_bytes
        try:
            async with asyncio.timeout(self.body_timeout):
                while left > 0:
                    message = await receive()
                    if message["type"] != "http.request":
                        break
                    left -= len(message.get("body", b""))
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            pass
        await send({"type": "http.response.body", "body": b""})


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
