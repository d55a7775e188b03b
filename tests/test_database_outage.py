"""PostgreSQL going away under load and coming back: 503 `database_unavailable` while it
is away, answers again once it is back, with no restart of the app.

The outage is made by a TCP proxy between the app and the server (stopping the shared
server would take down every other test's database too); to the app it is the same:
connections reset, new ones refused.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.app import create_app
from callhistory.db import create_engine
from callhistory.ratelimit import Limits, RateLimiter
from tests.factories import make_tenant, now_ms


class Proxy:
    """Forwards 127.0.0.1:<port> to the database; `down()` cuts every connection."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.server: asyncio.Server | None = None
        self.port = 0
        self.writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        await self.server.wait_closed()
        self.writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def through(proxy: Proxy, url: str) -> str:
    parts = urlsplit(url)
    netloc = (
        f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
    )
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def test_database_restart_under_load(engine: AsyncEngine, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("an embedded SQLite file cannot go away")
    tenant = await make_tenant(engine)
    parts = urlsplit(database_url)
    proxy = Proxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.up()
    proxied = create_engine(through(proxy, database_url))
    app = create_app(proxied, rate_limiter=RateLimiter(Limits(None, None)))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    url = f"/api/call_transaction/report?from_date={now_ms() - 1000}&to_date={now_ms()}"
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

            async def burst() -> list[int]:
                answers = await asyncio.gather(
                    *(client.get(url, headers=tenant.headers) for _ in range(20))
                )
                return [a.status_code for a in answers]

            assert set(await burst()) == {200}
            await proxy.down()
            during = await burst()
            assert set(during) == {503}
            refused = await client.get(url, headers=tenant.headers)
            assert refused.json()["message"] == "database_unavailable"
            assert (await client.get("/readyz")).status_code == 503
            await proxy.up()  # same port: the database is back
            assert set(await burst()) == {200}
            assert (await client.get("/readyz")).status_code == 200
    finally:
        await proxied.dispose()
        with contextlib.suppress(AssertionError):
            await proxy.down()
