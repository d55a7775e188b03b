"""Retention of webhook deliveries, and of the changes webhooks have yet to be made from."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory import retention
from callhistory.config import Settings
from callhistory.db import new_id
from callhistory.schema import webhook_deliveries, webhooks
from callhistory.webhooks import worker
from tests.factories import DAY_MS, Tenant, add_call, make_tenant, now_ms
from tests.sync.test_pruning import backdate, changes_of, prune
from tests.webhooks.test_webhooks import Receiver, register

# (label, status, days since the last attempt): what a default retention does with each
ROWS = [
    ("delivered-old", "delivered", 31),
    ("delivered-young", "delivered", 29),
    ("parked-young", "parked", 60),
    ("parked-old", "parked", 91),
    ("pending-old", "pending", 400),  # e.g. its hook is paused: never pruned
]


NEVER = 253_402_300_799_999
URL = "https://retention.example.vn/h"  # apart from the other suites' receivers


async def hook(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    return await register(client, tenant, url=URL)


async def seed_deliveries(engine: AsyncEngine, tenant: Tenant, hook_id: str) -> dict[str, str]:
    now = now_ms()
    ids: dict[str, str] = {}
    async with engine.begin() as conn:
        for label, status, days in ROWS:
            ids[label] = new_id()
            attempted = now - days * DAY_MS
            await conn.execute(
                webhook_deliveries.insert().values(
                    tenant_id=tenant.id,
                    id=ids[label],
                    hook_id=hook_id,
                    event="hangup",
                    transaction_id=label,
                    body=orjson.dumps({"tenant_id": tenant.id, "transaction_id": label}).decode(),
                    status=status,
                    attempts=1,
                    created_at=attempted - 1000,
                    retry_until=attempted + DAY_MS,
                    # never due: other tests' worker rounds must not send it
                    next_attempt_at=NEVER if status == "pending" else attempted + 30_000,
                    last_attempt_at=attempted,
                )
            )
    return ids


async def labels_left(engine: AsyncEngine, tenant: Tenant) -> set[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(webhook_deliveries.c.transaction_id).where(
                webhook_deliveries.c.tenant_id == tenant.id
            )
        )
        return {r.transaction_id for r in rows}


async def test_finished_deliveries_go_pending_ones_stay(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    a, b = await make_tenant(engine), await make_tenant(engine)
    for tenant in (a, b):
        made = await hook(client, tenant)
        await seed_deliveries(engine, tenant, made["id"])
    everything = {label for label, _, _ in ROWS}

    report = await retention.prune(engine, Settings(), tenant_id=a.id)
    assert (report.total("delivered"), report.total("parked")) == (1, 1)
    assert await labels_left(engine, a) == everything - {"delivered-old", "parked-old"}
    assert await labels_left(engine, b) == everything  # another tenant's are not touched
    shown = await client.get("/api/webhooks/deliveries", headers=a.headers)
    assert {i["transaction_id"] for i in shown.json()["payload"]["items"]} == await labels_left(
        engine, a
    )

    # 0 days keeps that kind; shorter retention takes more, still never a pending one.
    keep = Settings(retention_deliveries_days=0, retention_parked_days=0)
    assert (await retention.prune(engine, keep, tenant_id=b.id)).tenants == []
    short = Settings(retention_deliveries_days=1, retention_parked_days=1)
    await retention.prune(engine, short, tenant_id=b.id)
    assert await labels_left(engine, b) == {"pending-old"}


async def test_redelivered_parked_delivery_starts_its_age_again(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    made = await hook(client, tenant)
    ids = await seed_deliveries(engine, tenant, made["id"])
    redo = await client.post(
        f"/api/webhooks/deliveries/{ids['parked-old']}/redeliver", headers=tenant.headers
    )
    assert redo.status_code == 202
    await retention.prune(engine, Settings(), tenant_id=tenant.id)
    assert "parked-old" in await labels_left(engine, tenant)  # pending again: kept
    await client.post("/api/webhooks/destroy?hook_type=call", headers=tenant.headers)


async def backdate_hook(engine: AsyncEngine, tenant: Tenant, days: int = 200) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(webhooks)
            .where(webhooks.c.tenant_id == tenant.id)
            .values(created_at=webhooks.c.created_at - days * DAY_MS)
        )


async def test_changes_wait_for_their_deliveries(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    await hook(client, tenant)
    made = {await add_call(engine, tenant) for _ in range(3)}
    await backdate(engine, tenant)
    await backdate_hook(engine, tenant)  # its events are only those after it was made
    assert await prune(engine, tenant) == 0  # old, but no delivery made from them yet
    receiver = Receiver()
    async with receiver.http() as http:
        await worker.fan_out_all(engine, now_ms())  # deliveries made (bodies fixed)
        assert await prune(engine, tenant) == 3
        while await worker.run_once(engine, http):
            pass
    sent = [orjson.loads(r.content) for r in receiver.received]
    assert {b["transaction_id"] for b in sent if b.get("tenant_id") == tenant.id} == made
    assert await changes_of(engine, tenant) == 0


async def test_a_paused_hook_keeps_its_queue(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    await hook(client, tenant)
    async with engine.begin() as conn:
        await conn.execute(
            update(webhooks).where(webhooks.c.tenant_id == tenant.id).values(status="paused")
        )
    tx = await add_call(engine, tenant)
    receiver = Receiver()
    async with receiver.http() as http:
        await worker.run_once(engine, http)  # paused: nothing made, nothing sent
        await backdate(engine, tenant)
        await backdate_hook(engine, tenant)
        assert await prune(engine, tenant) == 0
        await hook(client, tenant)  # resumes: the queued change is still there
        await worker.run_once(engine, http)
    sent = [orjson.loads(r.content) for r in receiver.received]
    mine = [b for b in sent if b.get("tenant_id") == tenant.id]
    assert [b["transaction_id"] for b in mine] == [tx]


async def test_without_a_hook_changes_are_not_held(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    await hook(client, tenant)
    gone = await client.post("/api/webhooks/destroy?hook_type=call", headers=tenant.headers)
    assert gone.status_code == 200
    await add_call(engine, tenant)  # its webhook cursor stays behind, unused
    await backdate(engine, tenant)
    assert await prune(engine, tenant) == 1
