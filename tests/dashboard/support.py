"""Signing in to the dashboard from tests, and reading what its pages show."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.app import create_app

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@asynccontextmanager
async def browser(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    """A client with its own cookie jar, as one browser would have."""
    transport = httpx.ASGITransport(app=create_app(engine), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def sign_in(http: httpx.AsyncClient, api_key: str) -> str:
    """Sign in with a key; returns the session's CSRF token."""
    form = await http.get("/signin")
    answer = await http.post(
        "/signin", data={"csrf": csrf_of(form.text), "api_key": api_key, "next": "/calls"}
    )
    assert answer.status_code == 303, answer.text
    page = await http.get("/calls")
    assert page.status_code == 200
    return csrf_of(page.text)


def row_ids(html: str) -> list[str]:
    return re.findall(r'data-transaction-id="([^"]+)"', html)
