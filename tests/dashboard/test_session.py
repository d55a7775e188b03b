"""Sign-in, the session cookie, CSRF, sign-out and the redirect without a session."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth import keys
from callhistory.config import get_settings
from callhistory.dashboard import users
from callhistory.dashboard.render import safe_next
from tests.dashboard.support import browser, csrf_of, sign_in
from tests.factories import make_tenant


async def test_pages_without_session_redirect_to_sign_in(engine: AsyncEngine) -> None:
    async with browser(engine) as http:
        for path in ("/calls?keyword=x", "/reports", "/calls/abc", "/export.csv"):
            answer = await http.get(path)
            assert answer.status_code == 303
            location = urlparse(answer.headers["location"])
            assert location.path == "/signin"
            assert parse_qs(location.query)["next"] == [path]
        home = await http.get("/")
        assert home.headers["location"] == "/signin"


async def test_sign_in_with_key_sets_a_safe_cookie_and_sign_out_ends_it(
    engine: AsyncEngine,
) -> None:
    tenant = await make_tenant(engine)
    async with browser(engine) as http:
        form = await http.get("/signin")
        answer = await http.post(
            "/signin",
            data={"csrf": csrf_of(form.text), "api_key": tenant.api_key, "next": "/reports"},
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/reports"
        cookie = next(
            c for c in answer.headers.get_list("set-cookie") if c.startswith("ch_session=")
        )
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        page = await http.get("/calls")
        assert page.status_code == 200
        assert "Content-Security-Policy" in page.headers
        csrf = csrf_of(page.text)
        out = await http.post("/signout", data={"csrf": csrf})
        assert out.status_code == 303
        assert (await http.get("/calls")).status_code == 303


async def test_wrong_key_is_refused(engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    async with browser(engine) as http:
        form = await http.get("/signin")
        answer = await http.post(
            "/signin", data={"csrf": csrf_of(form.text), "api_key": tenant.api_key + "x"}
        )
        assert answer.status_code == 401
        assert "ch_session" not in answer.cookies


async def test_csrf_is_checked_on_every_form(engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    async with browser(engine) as http:
        await http.get("/signin")
        refused = await http.post("/signin", data={"csrf": "forged", "api_key": tenant.api_key})
        assert refused.status_code == 403
        await sign_in(http, tenant.api_key)
        for path in ("/signout", "/lang", "/calls/x/change", "/calls/x/evaluate"):
            assert (await http.post(path, data={"csrf": "forged"})).status_code == 403, path
            assert (await http.post(path, data={})).status_code == 403, path
        assert (await http.get("/calls")).status_code == 200  # still signed in


async def test_revoking_the_key_ends_its_sessions(engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    async with browser(engine) as http:
        await sign_in(http, tenant.api_key)
        async with engine.begin() as conn:
            await keys.revoke_key(conn, tenant.key_id)
        assert (await http.get("/calls")).status_code == 303


async def test_forged_or_expired_cookies_are_ignored(engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    claims = {"typ": "dashboard", "sub": tenant.id, "kid": tenant.key_id, "csrf": "c"}
    forged = jwt.encode(
        {**claims, "exp": time.time() + 60}, "not-the-secret-but-long-enough-for-hs256!", "HS256"
    )
    expired = jwt.encode({**claims, "exp": time.time() - 1}, get_settings().secret_key, "HS256")
    access = jwt.encode(
        {**claims, "typ": "access", "exp": time.time() + 60}, get_settings().secret_key, "HS256"
    )
    async with browser(engine) as http:
        for token in (forged, expired, access):
            http.cookies.set("ch_session", token)
            assert (await http.get("/calls")).status_code == 303


async def test_password_sign_in_for_a_dashboard_user(engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    async with engine.begin() as conn:
        await users.create(conn, tenant.id, "Sup@Example.vn", "correct horse")
    async with browser(engine) as http:
        form = await http.get("/signin")
        data = {"csrf": csrf_of(form.text), "tenant": tenant.name, "email": "sup@example.vn"}
        bad = await http.post("/signin", data={**data, "password": "wrong password"})
        assert bad.status_code == 401
        good = await http.post("/signin", data={**data, "password": "correct horse"})
        assert good.status_code == 303
        page = await http.get("/calls")
        assert page.status_code == 200
        assert "sup@example.vn" in page.text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/calls?page=2", "/calls?page=2"),
        ("//evil.example/x", "/calls"),
        ("https://evil.example", "/calls"),
        ("/\\evil.example", "/calls"),
        (None, "/calls"),
    ],
)
def test_next_never_leaves_the_site(raw: str | None, expected: str) -> None:
    assert safe_next(raw) == expected


def test_password_hashes_check() -> None:
    stored = users.hash_password("s3cret-pass")
    assert users.check_password("s3cret-pass", stored) == (True, None)
    assert users.check_password("s3cret-pasS", stored) == (False, None)
    assert users.check_password("x", "garbage") == (False, None)
