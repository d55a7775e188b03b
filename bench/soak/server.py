"""The server under soak: `callhistory serve` started until its workers answer, and
the webhook side: a receiver in this process, its registration, waiting for the
deliveries to drain."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx

from bench import serving
from bench.soak.tenant import Picks

ROOT = Path(__file__).resolve().parents[2]
SERVER_START_SECONDS = 120.0


def _started(log: Path) -> int:
    """Workers that have logged the end of their start-up."""
    return log.read_bytes().count(b"Application startup complete")


def _tail(path: Path, size: int = 2000) -> str:
    return path.read_bytes().decode(errors="replace")[-size:]


@contextlib.asynccontextmanager
async def server(url: str, workers: int, log_path: Path) -> AsyncIterator[tuple[str, int]]:
    """`callhistory serve` on a free port, until it and its workers answer; its base URL
    and pid."""
    env = {
        **os.environ,
        "CALLHISTORY_DATABASE_URL": url,
        "CALLHISTORY_ENVIRONMENT": "development",  # plain-HTTP webhook to loopback
        "CALLHISTORY_RATE_LIMIT_API": "0",
        "CALLHISTORY_RATE_LIMIT_INGEST": "0",
        "CALLHISTORY_REDIS_URL": "",
        "CALLHISTORY_WORKER": "on",
        # info: uvicorn says so when it replaces a worker ("Child process [..] died")
        "CALLHISTORY_LOG_LEVEL": "info",
        "CALLHISTORY_EXPORT_DIR": str(log_path.parent / "exports"),
    }
    with log_path.open("wb") as log:
        process, port = await serving.start_serve(workers, env, log, ROOT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + SERVER_START_SECONDS
            async with httpx.AsyncClient(base_url=base, timeout=5) as client:
                while True:
                    if process.returncode is not None:
                        raise RuntimeError(
                            f"the server stopped (log: {log_path}): {_tail(log_path)}"
                        )
                    with contextlib.suppress(httpx.TransportError):
                        answer = await client.get("/readyz")
                        if answer.status_code == 200 and _started(log_path) >= workers:
                            break
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"the server did not start in time (log: {log_path}): {_tail(log_path)}"
                        )
                    await asyncio.sleep(0.3)
            yield base, process.pid
        finally:
            await serving.stop(process, 40)


@dataclass
class Receiver:
    """A plain HTTP/1.1 endpoint that answers 204 to every POST and counts deliveries."""

    deliveries: set[str] = field(default_factory=set)
    events: Counter[str] = field(default_factory=Counter)
    posts: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                await reader.readexactly(int(headers.get("content-length", "0")))
                self.posts += 1
                delivery = headers.get("x-callhistory-delivery", "")
                if delivery not in self.deliveries:
                    self.deliveries.add(delivery)
                    self.events[headers.get("x-callhistory-event", "?")] += 1
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


async def register_webhook(base: str, picks: Picks, port: int) -> None:
    body = {
        "webhook": {
            "type": "call",
            "url": f"http://127.0.0.1:{port}/hooks/calls",
            "events": ["hangup", "updated"],
        }
    }
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        answer = await client.post(
            "/api/webhooks/register", json=body, headers={"x-api-key": picks.api_key}
        )
    if answer.status_code not in (200, 201):
        raise RuntimeError(f"webhook registration: {answer.status_code} {answer.text[:300]}")


async def webhook_backlog(url: str, tenant_id: str) -> tuple[int, int]:
    """Deliveries made so far, and of them those still pending."""
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS made, count(*) FILTER (WHERE status = 'pending') AS pending"
            " FROM webhook_deliveries WHERE tenant_id = $1",
            tenant_id,
        )
        return int(row["made"]), int(row["pending"])
    finally:
        await conn.close()


async def drain_webhooks(url: str, tenant_id: str, seconds: float) -> None:
    """Until nothing is pending and no delivery was made for two seconds (the worker
    polls every second), or `seconds`."""
    deadline = time.monotonic() + seconds
    last = (-1, -1)
    while time.monotonic() < deadline:
        now = await webhook_backlog(url, tenant_id)
        if now[1] == 0 and now == last:
            return
        last = now
        await asyncio.sleep(2)
