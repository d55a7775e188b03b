"""Body size limits, refused before a route does any work."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.app import create_app
from callhistory.config import Settings
from tests.factories import make_tenant


@pytest.fixture
def small_bodies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("callhistory.app.get_settings", lambda: Settings(max_body_bytes=1000))


async def test_declared_and_streamed_bodies_over_the_limit(
    engine: AsyncEngine, small_bodies: None
) -> None:
    tenant = await make_tenant(engine)
    app = create_app(engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        url = "/api/call_transaction/change/some-call"
        declared = await client.post(url, headers=tenant.headers, content=b"x" * 1001)
        assert (declared.status_code, declared.json()["message"]) == (413, "payload_too_large")

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(5):
                yield b"y" * 400

        streamed = await client.post(url, headers=tenant.headers, content=chunks())
        assert (streamed.status_code, streamed.json()["message"]) == (413, "payload_too_large")
        small = await client.post(url, headers=tenant.headers, json={"note": "ok"})
        assert small.status_code == 404  # under the limit: the route ran
