"""Crash safety: kill -9 the server in the middle of a stream of FreeSWITCH posts,
restart it, resend what was not acknowledged (as mod_json_cdr does): every acknowledged
call is there, once, and nothing is duplicated."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.schema import calls
from tests.factories import make_tenant
from tests.ingest.freeswitch_posts import document, encoded

LEGS = 240
SENDERS = 8
KILL_AFTER = 60  # acknowledged posts before the kill


def distinct_legs(count: int) -> dict[str, bytes]:
    """`count` single-leg calls: the same document under new uuids."""
    template = json.loads(document("local-answered-aleg"))
    legs = {}
    for _ in range(count):
        call_id = str(uuid.uuid4())
        template["variables"]["uuid"] = template["variables"]["call_uuid"] = call_id
        legs[call_id] = json.dumps(template).encode()
    return legs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def server(database_url: str, port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {**os.environ, "CALLHISTORY_DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "callhistory"),
        "serve",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # Generous: a busy machine starts Python slowly; a server that never answers
        # fails the test here rather than as missing acknowledgements.
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as probe:
            while True:
                try:
                    if (await probe.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not start"
                await asyncio.sleep(0.05)
        yield process
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


async def send_all(
    port: int,
    api_key: str,
    legs: dict[str, bytes],
    acked: set[str],
    kill: asyncio.Event,
    kill_after: int = 0,
) -> None:
    """Post every leg once from SENDERS concurrent senders; once `kill_after` are
    acknowledged, set `kill` and stop sending."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for call_id in legs:
        queue.put_nowait(call_id)

    async def sender(client: httpx.AsyncClient) -> None:
        while not queue.empty() and not kill.is_set():
            call_id = queue.get_nowait()
            body, content_type = encoded(legs[call_id], "urlencoded")
            try:
                answer = await client.post(
                    f"http://127.0.0.1:{port}/api/cdr/freeswitch",
                    content=body,
                    headers={"content-type": content_type},
                    auth=("freeswitch", api_key),
                )
            except httpx.TransportError:
                continue  # not acknowledged: resent later
            if answer.status_code == 200:
                acked.add(call_id)
                if kill_after and len(acked) >= kill_after:
                    kill.set()

    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(*(sender(client) for _ in range(SENDERS)))


async def test_kill_nine_loses_no_acknowledged_call(engine: AsyncEngine, database_url: str) -> None:
    tenant = await make_tenant(engine, "crash")
    legs = distinct_legs(LEGS)
    acked: set[str] = set()
    port = free_port()

    async with server(database_url, port) as process:
        kill = asyncio.Event()
        stream = asyncio.create_task(send_all(port, tenant.api_key, legs, acked, kill, KILL_AFTER))
        await kill.wait()
        os.killpg(process.pid, signal.SIGKILL)  # mid-stream: posts in flight are cut
        await process.wait()
        await stream
    acknowledged_before_crash = set(acked)
    assert len(acknowledged_before_crash) >= KILL_AFTER

    async with server(database_url, port):
        # mod_json_cdr resends whatever got no 2xx; a few acknowledged ones come again
        # too (a retry whose answer was lost).
        resend = {k: v for k, v in legs.items() if k not in acked}
        resend.update(dict(list(legs.items())[:10]))
        for _ in range(5):  # as the PBX does: again, while some get no answer in time
            await send_all(port, tenant.api_key, resend, acked, asyncio.Event())
            resend = {k: v for k, v in legs.items() if k not in acked}
            if not resend:
                break

    assert acked == set(legs)
    async with engine.connect() as conn:
        stored = set(
            await conn.scalars(select(calls.c.transaction_id).where(calls.c.tenant_id == tenant.id))
        )
        count = await conn.scalar(
            select(func.count()).select_from(calls).where(calls.c.tenant_id == tenant.id)
        )
    assert acknowledged_before_crash <= stored
    assert stored == set(legs) and count == LEGS
