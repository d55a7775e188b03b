"""Refusals made before any work: bytes no database column can hold, bodies too big."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callhistory.envelope import ApiError, fail


class RejectNulBytes:
    """A NUL in the path or query string is a 400, not a driver error deep in a query.

    PostgreSQL text cannot hold NUL; SQLite would treat it as an ordinary byte, so the
    same request would answer differently by store. Checked once, for every route.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
            query: bytes = scope.get("query_string", b"")
            if b"\x00" in unquote_to_bytes(raw_path) or b"\x00" in unquote_to_bytes(query):
                field = "query" if b"\x00" in unquote_to_bytes(query) else "path"
                response = fail(400, "validation_error", [{"field": field, "code": "nul_byte"}])
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class LimitBodySize:
    """Bodies over `limit` bytes are a 413 `payload_too_large`, before a route reads them.

    A declared Content-Length is refused at once; a chunked body is counted as it
    streams and cut off when it passes the limit. Ingest has its own, smaller limit
    for FreeSWITCH posts (CALLHISTORY_MAX_CDR_BYTES) on top of this one.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await fail(413, "payload_too_large")(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:
            await fail(413, "payload_too_large")(scope, receive, send)


class BodyTooLarge(Exception):
    """Raised inside the app's receive once a streamed body passes the limit."""


async def read_limited(request: Request, limit: int) -> bytes:
    """A route's body, refused with 413 once it passes `limit` (before reading the rest)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "payload_too_large")
        chunks.append(chunk)
    return b"".join(chunks)
