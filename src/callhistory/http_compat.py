"""What HTTP clients and browsers expect beyond the routes: a trailing slash reaches the
route itself (never a redirect), HEAD answers wherever GET does, and CORS for the
origins `CALLHISTORY_CORS_ORIGINS` names. Pure ASGI, so no answer is buffered."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callhistory.envelope import fail

# What the API's clients send and read: the contract's credentials, and the headers a
# client needs to back off (Retry-After) and to report a request (X-Request-ID).
CORS_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS")
CORS_REQUEST_HEADERS = ("Authorization", "Content-Type", "X-API-Key", "X-Request-ID")
CORS_EXPOSED_HEADERS = ("Retry-After", "X-Request-ID", "Content-Disposition")
CORS_MAX_AGE = 600  # seconds a browser may reuse a preflight


class ClientPaths:
    """`/api/x/` is answered by `/api/x` (the 307 it replaces pointed at `http://` behind
    TLS and lost POST bodies in some clients), and HEAD by GET without the body.

    The inner app gets a copy of the scope: the server keeps its own, whose `HEAD`
    tells it to send no body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        changes: dict[str, object] = {}
        path: str = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            changes["path"] = path.rstrip("/") or "/"
            raw: bytes | None = scope.get("raw_path")
            if raw is not None:
                changes["raw_path"] = raw.rstrip(b"/") or b"/"
        if scope["method"] == "HEAD":
            changes["method"] = "GET"
            send = _bodiless(send)
        await self.app({**scope, **changes} if changes else scope, receive, send)


def _bodiless(send: Send) -> Send:
    """The GET answer's status and headers (Content-Length included, as HTTP asks for
    HEAD), without its body."""

    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return send_head


class EnvelopedCors(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered in the contract's envelope
    (Starlette answers plain text) and 403, not 400: nothing in the request is
    malformed, this origin is not allowed."""

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code < 400:
            return answer
        return fail(403, "cors_not_allowed", None, {"Vary": "Origin"})


def cors_options(origins: Sequence[str]) -> dict[str, Any]:
    """The middleware's options; no origins: every cross-origin request is refused.
    No credentials: API clients send a key or a token, never the dashboard's cookie."""
    return {
        "allow_origins": list(origins),
        "allow_methods": list(CORS_METHODS),
        "allow_headers": list(CORS_REQUEST_HEADERS),
        # Starlette sends this on every answer; with no origin allowed it says nothing
        "expose_headers": list(CORS_EXPOSED_HEADERS) if origins else [],
        "allow_credentials": False,
        "max_age": CORS_MAX_AGE,
    }
