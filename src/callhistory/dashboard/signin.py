"""Signing in (API key, or a dashboard user's password), signing out, the language switch.

Before sign-in the form's CSRF token is a double-submit cookie; after it, the token
lives in the signed session. Every POST here checks one or the other.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from callhistory.auth import attempts, keys
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
    """The session the form's credentials open, None for wrong ones (each counted: see
    auth/attempts.py, TooManyAttempts while this address or this account has too many)."""
    engine = engine_of(request)
    async with engine.connect() as conn:
        if form.get("api_key"):
            account = attempts.key_account(form["api_key"])
            async with attempts.attempt(request, attempts.SIGNIN, account) as tried:
                ref = await keys.verify_key(conn, form["api_key"])
                if ref is None:
                    tried.failed()
                    return None
            if ref.agent_id is not None:  # an agent's key opens the API's "my calls" only
                return None
            return Session(ref.tenant_id, session.new_csrf(), key_id=ref.key_id)
        named = form.get("tenant", "").strip()
        tenant = await keys.find_tenant(conn, named)
        # One account whether the tenant is named by its name or its id; an unknown one
        # (or email) is counted all the same, so a refusal tells nothing about either.
        account = attempts.user_account(tenant.id if tenant else named, form.get("email", ""))
        async with attempts.attempt(request, attempts.SIGNIN, account) as tried:
            user = None
            if tenant is not None:
                user = await users.authenticate(
                    conn, tenant.id, form.get("email", ""), form.get("password", "")
                )
            if tenant is None or user is None:
                tried.failed()
                return None
        return Session(tenant.id, session.new_csrf(), user_id=user.id, email=user.email)


@router.post("/signin")
async def signin(request: Request) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    next_url = safe_next(form.get("next"))
    if not session.csrf_ok(request.cookies.get(session.CSRF_COOKIE), form.get("csrf")):
        return forbidden(request, None)
    kept = {"tenant": form.get("tenant", ""), "email": form.get("email", "")}
    try:
        found = await _check_credentials(request, form)
    except attempts.TooManyAttempts as exc:
        minutes = math.ceil(exc.retry_after / 60)
        message = i18n.translator(lang_of(request))("signin_too_many", minutes=minutes)
        response = _signin_page(request, next_url, message, status=429, **kept)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if found is None:
        t = i18n.translator(lang_of(request))
        return _signin_page(request, next_url, t("signin_failed"), status=401, **kept)
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
