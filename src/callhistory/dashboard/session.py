"""The dashboard's session: a signed, expiring, HttpOnly cookie, and CSRF tokens.

The cookie is a JWT (PyJWT is already a dependency) signed with the same secret as access
tokens but a different `typ`, so neither can stand in for the other. It names the key or
the dashboard user it came from; both are re-checked on every request, so revoking a key
or disabling a user ends its sessions at once, as it ends its tokens.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass

import jwt
from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth import keys
from callhistory.auth.keys import KeyRef
from callhistory.config import get_settings
from callhistory.dashboard import users

SESSION_COOKIE = "ch_session"
CSRF_COOKIE = "ch_csrf"  # before sign-in only: double-submit token of the sign-in form
SESSION_TTL = 12 * 3600  # one working day; the supervisor signs in each morning
_ALGORITHM = "HS256"
_TYP = "dashboard"


@dataclass(frozen=True)
class Session:
    tenant_id: str
    csrf: str
    key_id: str | None = None  # signed in with an API key
    user_id: str | None = None  # signed in as a dashboard user
    email: str | None = None
    time_zone: str = "Asia/Ho_Chi_Minh"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def issue(response: Response, request: Request, session: Session) -> None:
    now = int(time.time())
    claims = {
        "typ": _TYP,
        "sub": session.tenant_id,
        "kid": session.key_id,
        "uid": session.user_id,
        "csrf": session.csrf,
        "iat": now,
        "exp": now + SESSION_TTL,
    }
    token = jwt.encode(claims, get_settings().secret_key, algorithm=_ALGORITHM)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_TTL,
        httponly=True,
        samesite="lax",  # lax, not strict: a shared bookmark opened from mail keeps the session
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(CSRF_COOKIE, path="/")


def clear(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def _claims(request: Request) -> dict[str, object] | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        claims: dict[str, object] = jwt.decode(
            raw,
            get_settings().secret_key,
            algorithms=[_ALGORITHM],
            options={"require": ["sub", "exp", "csrf"]},
        )
    except jwt.PyJWTError:
        return None
    return claims if claims.get("typ") == _TYP else None


async def current(request: Request, engine: AsyncEngine) -> Session | None:
    """The request's session, if its cookie is valid and its key or user still active."""
    claims = _claims(request)
    if claims is None:
        return None
    tenant_id, key_id, user_id = str(claims["sub"]), claims.get("kid"), claims.get("uid")
    email: str | None = None
    async with engine.connect() as conn:
        if isinstance(key_id, str):
            active = await keys.active_key(conn, KeyRef(tenant_id, key_id))
            if active is None or active.agent_id is not None:  # agents' keys: API only
                return None
        elif isinstance(user_id, str):
            user = await users.get(conn, tenant_id, user_id)
            if user is None or not user.active:
                return None
            email = user.email
        else:
            return None
        zone = await keys.tenant_time_zone(conn, tenant_id)
    return Session(
        tenant_id=tenant_id,
        csrf=str(claims["csrf"]),
        key_id=key_id if isinstance(key_id, str) else None,
        user_id=user_id if isinstance(user_id, str) else None,
        email=email,
        time_zone=zone,
    )


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def pre_session_csrf(request: Request) -> str:
    """The sign-in form's token: the cookie's when there is one, else a new one to set."""
    return request.cookies.get(CSRF_COOKIE) or new_csrf()


def set_pre_session_csrf(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/"
    )


def csrf_ok(expected: str | None, given: object) -> bool:
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
