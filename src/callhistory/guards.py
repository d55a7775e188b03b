"""Refusals made before any work: bytes no database column can hold."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from callhistory.envelope import fail


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
