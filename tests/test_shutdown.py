"""Graceful shutdown: SIGTERM lets a request in flight finish (and its calls be stored),
refuses new connections, and the process exits cleanly."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.serving import free_port
from callhistory.schema import calls
from tests.factories import make_tenant
from tests.serving import server


async def test_sigterm_finishes_the_request_in_flight(
    engine: AsyncEngine, database_url: str
) -> None:
    tenant = await make_tenant(engine, "shutdown")
    now = int(time.time() * 1000)
    items = [
        {
            "transaction_id": f"term-{n}",
            "created_date": now - n,
            "source_number": "0912345678",
            "destination_number": "101",
        }
        for n in range(50)
    ]
    body = json.dumps(items).encode()
    half_sent, finish = asyncio.Event(), asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        # The request is under way (headers and half its body read) when SIGTERM comes.
        yield body[: len(body) // 2]
        half_sent.set()
        await finish.wait()
        yield body[len(body) // 2 :]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with server(database_url, port) as process:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            posting = asyncio.create_task(
                client.post(
                    "/api/cdr",
                    content=slow_body(),
                    headers={"content-type": "application/json", "x-api-key": tenant.api_key},
                )
            )
            await half_sent.wait()
            await asyncio.sleep(0.3)  # the server has the request
            process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)  # shutting down: no new connection is taken
            async with httpx.AsyncClient(base_url=base, timeout=2) as newcomer:
                refused = False
                try:
                    await newcomer.get("/healthz")
                except httpx.TransportError:
                    refused = True
            assert refused
            finish.set()
            answer = await posting
        assert answer.status_code == 200
        assert answer.json()["payload"]["stored"] == len(items)
        # uvicorn re-raises the signal once it has shut down: the exit says SIGTERM
        assert await asyncio.wait_for(process.wait(), 30) in (0, -signal.SIGTERM)
    async with engine.connect() as conn:
        stored = await conn.scalar(
            select(func.count()).select_from(calls).where(calls.c.tenant_id == tenant.id)
        )
    assert stored == len(items)
