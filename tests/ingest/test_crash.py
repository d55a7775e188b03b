"""Crash safety: kill -9 the server in the middle of a stream of FreeSWITCH posts and
`POST /api/cdr` batches, restart it, resend what was not acknowledged (as mod_json_cdr
and a batch sender do): every acknowledged call is there, once, and nothing is
duplicated."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.serving import free_port
from callhistory.schema import calls
from tests.factories import make_tenant
from tests.ingest.freeswitch_posts import document, encoded
from tests.serving import server

LEGS = 240
SENDERS = 8
KILL_AFTER = 60  # acknowledged posts before the kill
BATCHES = 60
BATCH_SIZE = 20


def distinct_legs(count: int) -> dict[str, bytes]:
    """`count` single-leg calls: the same document under new uuids."""
    template = json.loads(document("local-answered-aleg"))
    legs = {}
    for _ in range(count):
        call_id = str(uuid.uuid4())
        template["variables"]["uuid"] = template["variables"]["call_uuid"] = call_id
        legs[call_id] = json.dumps(template).encode()
    return legs


def distinct_batches(count: int, size: int) -> dict[str, list[dict[str, object]]]:
    """`count` batches of `size` new calls in our item shape, by a batch id."""
    now = int(time.time() * 1000)
    return {
        f"batch-{n}": [
            {
                "transaction_id": f"item-{uuid.uuid4()}",
                "created_date": now - n * 1000 - i,
                "source_number": "0912345678",
                "destination_number": "101",
                "disposition": "answered",
                "bill_sec": 30 + i,
            }
            for i in range(size)
        ]
        for n in range(count)
    }


async def send_all(
    port: int,
    api_key: str,
    legs: dict[str, bytes],
    acked: set[str],
    stop: asyncio.Event,
    enough: asyncio.Event | None = None,
    kill_after: int = 0,
) -> None:
    """Post every leg once from SENDERS concurrent senders until `stop`; once
    `kill_after` are acknowledged, set `enough`."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for call_id in legs:
        queue.put_nowait(call_id)

    async def sender(client: httpx.AsyncClient) -> None:
        while not queue.empty() and not stop.is_set():
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
                if enough is not None and len(acked) >= kill_after:
                    enough.set()

    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(*(sender(client) for _ in range(SENDERS)))


async def send_batches(
    port: int,
    api_key: str,
    batches: dict[str, list[dict[str, object]]],
    acked: set[str],
    stop: asyncio.Event,
    enough: asyncio.Event | None = None,
    hold: asyncio.Event | None = None,
) -> None:
    """Post each batch once from two senders until `stop`; a batch answered 200 with
    every item stored, updated or unchanged is acknowledged, item by item. `enough` is
    set once a third of the items are; the last third waits for `hold`, so the stream is
    still going when the posts' own threshold comes."""
    queue = list(batches)
    third = sum(len(b) for b in batches.values()) // 3

    async def sender(client: httpx.AsyncClient) -> None:
        while queue and not stop.is_set():
            if hold is not None and len(queue) <= len(batches) // 3:
                await hold.wait()
                if stop.is_set():
                    return
            items = batches[queue.pop()]
            try:
                answer = await client.post(
                    f"http://127.0.0.1:{port}/api/cdr",
                    content=json.dumps(items),
                    headers={"content-type": "application/json", "x-api-key": api_key},
                )
            except httpx.TransportError:
                continue  # not acknowledged: resent later
            if answer.status_code == 200:
                results = answer.json()["payload"]["results"]
                assert all(r["status"] != "rejected" for r in results)
                acked.update(r["transaction_id"] for r in results)
                if enough is not None and len(acked) >= third:
                    enough.set()

    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(*(sender(client) for _ in range(2)))


async def test_kill_nine_loses_no_acknowledged_call(engine: AsyncEngine, database_url: str) -> None:
    tenant = await make_tenant(engine, "crash")
    legs = distinct_legs(LEGS)
    batches = distinct_batches(BATCHES, BATCH_SIZE)
    items = {str(i["transaction_id"]) for b in batches.values() for i in b}
    acked: set[str] = set()
    acked_items: set[str] = set()
    port = free_port()

    async with server(database_url, port) as process:
        stop, posts_enough, batches_enough = asyncio.Event(), asyncio.Event(), asyncio.Event()
        stream = asyncio.gather(
            send_all(port, tenant.api_key, legs, acked, stop, posts_enough, KILL_AFTER),
            send_batches(
                port, tenant.api_key, batches, acked_items, stop, batches_enough, posts_enough
            ),
        )
        await posts_enough.wait()
        await batches_enough.wait()
        stop.set()
        os.killpg(process.pid, signal.SIGKILL)  # mid-stream: posts and batches in flight are cut
        await process.wait()
        await stream
    acknowledged_before_crash = set(acked)
    items_before_crash = set(acked_items)
    assert len(acknowledged_before_crash) >= KILL_AFTER
    assert len(items) // 3 <= len(items_before_crash) < len(items)  # cut mid-stream

    async with server(database_url, port):
        # mod_json_cdr resends whatever got no 2xx; a few acknowledged ones come again
        # too (a retry whose answer was lost).
        resend = {k: v for k, v in legs.items() if k not in acked}
        resend.update(dict(list(legs.items())[:10]))
        batches_again = {k: b for k, b in batches.items() if k in list(batches)[:3]}
        for _ in range(5):  # as the PBX does: again, while some get no answer in time
            await send_all(port, tenant.api_key, resend, acked, asyncio.Event())
            batches_again.update(
                {
                    k: b
                    for k, b in batches.items()
                    if any(i["transaction_id"] not in acked_items for i in b)
                }
            )
            await send_batches(port, tenant.api_key, batches_again, acked_items, asyncio.Event())
            resend = {k: v for k, v in legs.items() if k not in acked}
            batches_again = {}
            if not resend and acked_items == items:
                break

    assert acked == set(legs) and acked_items == items
    async with engine.connect() as conn:
        stored = set(
            await conn.scalars(select(calls.c.transaction_id).where(calls.c.tenant_id == tenant.id))
        )
        count = await conn.scalar(
            select(func.count()).select_from(calls).where(calls.c.tenant_id == tenant.id)
        )
    assert acknowledged_before_crash <= stored and items_before_crash <= stored
    assert stored == set(legs) | items and count == LEGS + len(items)
