"""Rendering pages: the template environment, the headers every page carries, the guard.

Every page is rendered with the request's language and the session's CSRF token, so a
template cannot forget either. The Content-Security-Policy allows nothing from outside
but recordings (which may live on the PBX's own host): no inline script, no inline style
(the pages have none: dashboard.js and dashboard.css hold it all), no plugin, no framing.

Every answer of the dashboard carries SECURITY_HEADERS: its routes are SecureRoute (so
redirects, error pages and streamed exports too, not only what page() renders), and its
static files are served through secure_static().
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callhistory import __version__
from callhistory.auth.routes import engine_of
from callhistory.dashboard import i18n, session
from callhistory.dashboard.session import Session

R = TypeVar("R", bound=Response)
_HERE = Path(__file__).parent
STATIC_DIR = _HERE / "static"
STATIC_URL = "/static/dashboard"

env = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' https: http:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Cross-Origin-Opener-Policy": "same-origin",
}


def secure_headers(response: R) -> R:
    """The security headers, and no-store unless the answer chose its own caching."""
    response.headers.update(SECURITY_HEADERS)
    if "cache-control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


class SecureRoute(APIRoute):
    """A dashboard route: whatever its handler answers leaves with the security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def secured(request: Request) -> Response:
            return secure_headers(await handler(request))

        return secured


def secure_static(app: ASGIApp) -> ASGIApp:
    """Static files with the security headers, their own 404 and 405 answers included."""
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]

    async def secured(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in raw if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await app(scope, receive, send_secured)
        except HTTPException as exc:  # StaticFiles raises its 404 for the app to render
            answer = PlainTextResponse(str(exc.detail), exc.status_code, headers=exc.headers)
            await answer(scope, receive, send_secured)

    return secured


def lang_of(request: Request) -> str:
    return i18n.language(request.cookies.get(i18n.LANG_COOKIE))


def page(
    request: Request,
    template: str,
    current: Session | None,
    *,
    csrf: str | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = lang_of(request)
    zone = current.time_zone if current else "Asia/Ho_Chi_Minh"
    html = env.get_template(template).render(
        request=request,
        session=current,
        lang=lang,
        t=i18n.translator(lang),
        csrf=csrf or (current.csrf if current else ""),
        static=STATIC_URL,
        version=__version__,
        num=lambda v, d=0: i18n.number(v, lang, d),
        dur=i18n.duration,
        hms=lambda v: i18n.hours(v, lang),
        when=lambda ms, seconds=True: i18n.local_time(ms, zone, seconds),
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        **context,
    )
    return secure_headers(HTMLResponse(html, status_code=status))


def safe_next(raw: object, default: str = "/calls") -> str:
    """Only paths of this site: never `//host` or a scheme, so sign-in cannot redirect away."""
    if not isinstance(raw, str) or not raw.startswith("/") or raw.startswith("//"):
        return default
    if "\\" in raw or "\n" in raw or "\r" in raw:
        return default
    return raw


def to_signin(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)


async def guard(request: Request) -> Session | RedirectResponse:
    found = await session.current(request, engine_of(request))
    return found if found is not None else to_signin(request)


def forbidden(request: Request, current: Session | None) -> HTMLResponse:
    t = i18n.translator(lang_of(request))
    return page(
        request, "error.html", current, status=403, title=t("error_title"), message=t("csrf_failed")
    )
