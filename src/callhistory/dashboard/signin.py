"""Signing in (API key, or a dashboard user's password), signing out, the language switch.

Before sign-in the form's CSRF token is a double-submit cookie; after it, the token
lives in the signed session. Every POST here checks one or the other.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from callhistory.auth import keys
from callhistory.auth.routes import engine_of
from callhistory.dashboard import i18n, session, users
from callhistory.dashboard.render import SecureRoute, forbidden, lang_of, page, safe_next
from callhistory.dashboard.session import Session

router = APIRouter(include_in_schema=False, route_class=SecureRoute)  # security headers


@router.get("/")
async def home(request: Request) -> Response:
    found = await session.current(request, engine_of(request))
    return RedirectResponse("/calls" if found else "/signin", status_code=303)


def _signin_page(
    request: Request, next_url: str, error: str | None = None, status: int = 200, **form: Any
) -> Response:
    token = session.pre_session_csrf(request)
    response = page(
        request,
        "signin.html",
        None,
        csrf=token,
        status=status,
        next_url=next_url,
        error=error,
        form=form,
    )
    session.set_pre_session_csrf(response, request, token)
    return response


@router.get("/signin")
async def signin_form(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    if await session.current(request, engine_of(request)) is not None:
        return RedirectResponse(next_url, status_code=303)
    return _signin_page(request, next_url)


async def _check_credentials(request: Request, form: dict[str, str]) -> Session | None:
    engine = engine_of(request)
    async with engine.connect() as conn:
        if form.get("api_key"):
            ref = await keys.verify_key(conn, form["api_key"])
            if ref is None:
                return None
            return Session(ref.tenant_id, session.new_csrf(), key_id=ref.key_id)
        tenant = await keys.find_tenant(conn, form.get("tenant", "").strip())
        if tenant is None:
            return None
        user = await users.authenticate(
            conn, tenant.id, form.get("email", ""), form.get("password", "")
        )
        if user is None:
            return None
        return Session(tenant.id, session.new_csrf(), user_id=user.id, email=user.email)


@router.post("/signin")
async def signin(request: Request) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    next_url = safe_next(form.get("next"))
    if not session.csrf_ok(request.cookies.get(session.CSRF_COOKIE), form.get("csrf")):
        return forbidden(request, None)
    found = await _check_credentials(request, form)
    if found is None:
        t = i18n.translator(lang_of(request))
        return _signin_page(
            request,
            next_url,
            t("signin_failed"),
            status=401,
            tenant=form.get("tenant", ""),
            email=form.get("email", ""),
        )
    response = RedirectResponse(next_url, status_code=303)
    session.issue(response, request, found)
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    found = await session.current(request, engine_of(request))
    form = await request.form()
    if found is None:
        return RedirectResponse("/signin", status_code=303)
    if not session.csrf_ok(found.csrf, form.get("csrf")):
        return forbidden(request, found)
    response = RedirectResponse("/signin", status_code=303)
    session.clear(response)
    return response


@router.post("/lang")
async def switch_language(request: Request) -> Response:
    found = await session.current(request, engine_of(request))
    form = await request.form()
    expected = found.csrf if found else request.cookies.get(session.CSRF_COOKIE)
    if not session.csrf_ok(expected, form.get("csrf")):
        return forbidden(request, found)
    lang = i18n.language(str(form.get("lang", "")))
    response = RedirectResponse(safe_next(form.get("next"), "/"), status_code=303)
    response.set_cookie(
        i18n.LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/", httponly=True
    )
    return response
