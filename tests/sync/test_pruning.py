"""Retention of the change feed: old changes go, a cursor before them answers 410
cursor_expired, a current cursor and a new reader lose nothing, tenants stay apart."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory import retention
from callhistory.config import Settings
from callhistory.db import new_id
from callhistory.schema import call_changes, calls, sync_horizons
from tests.factories import DAY_MS, Tenant, add_call, make_tenant, now_ms
from tests.sync.test_sync import SYNC, pull, store_state


async def backdate(engine: AsyncEngine, tenant: Tenant, days: int = 100) -> None:
    """Make every change the tenant has so far look `days` older."""
    c = call_changes.c
    async with engine.begin() as conn:
        await conn.execute(
            update(call_changes)
            .where(c.tenant_id == tenant.id)
            .values(changed_at=c.changed_at - days * DAY_MS)
        )


async def prune(engine: AsyncEngine, tenant: Tenant, **settings: Any) -> int:
    report = await retention.prune(engine, Settings(**settings), tenant_id=tenant.id)
    return report.total("changes")


async def changes_of(engine: AsyncEngine, tenant: Tenant) -> int:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(call_changes.c.seq).where(call_changes.c.tenant_id == tenant.id)
        )
        return len(rows.all())


async def first_page_cursor(client: httpx.AsyncClient, tenant: Tenant) -> str:
    answer = await client.get(SYNC, params={"from_date": 0, "size": 1}, headers=tenant.headers)
    cursor: str = answer.json()["payload"]["cursor"]
    return cursor


async def note(client: httpx.AsyncClient, tenant: Tenant, tx: str, text: str) -> None:
    answer = await client.post(
        f"/api/call_transaction/change/{tx}", json={"note": text}, headers=tenant.headers
    )
    assert answer.status_code == 200, answer.text


async def test_cursor_before_the_horizon_expires_a_current_one_loses_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    first, second = await add_call(engine, tenant), await add_call(engine, tenant)
    early = await first_page_cursor(client, tenant)  # after `first` only
    mirror: dict[str, Any] = {}
    current = await pull(client, tenant, mirror, None)  # after both
    await backdate(engine, tenant)
    third = await add_call(engine, tenant)
    await note(client, tenant, first, "gọi lại")

    kept = await changes_of(engine, tenant) - 2
    assert await prune(engine, tenant) == 2  # the two old inserts; the new changes stay
    assert await changes_of(engine, tenant) == kept
    gone = await client.get(SYNC, params={"cursor": early}, headers=tenant.headers)
    assert gone.status_code == 410
    body = gone.json()
    assert (body["status_code"], body["message"], body["payload"]) == (
        -9999,
        "cursor_expired",
        None,
    )

    await pull(client, tenant, mirror, current)
    assert set(mirror) == {first, second, third}
    assert mirror[first]["note"] == "gọi lại"
    # A new reader from 0 still gets every call, `second` too (all its changes pruned).
    assert await store_state(client, tenant) == mirror
    # A window after everything pruned reads the feed as before: no 410, no old calls.
    recent: dict[str, Any] = {}
    await pull_from(client, tenant, recent, now_ms() - DAY_MS)
    assert set(recent) == {first, third}


async def pull_from(
    client: httpx.AsyncClient, tenant: Tenant, mirror: dict[str, Any], from_ms: int
) -> str:
    query: dict[str, Any] = {"from_date": from_ms, "size": 2}
    while True:
        answer = await client.get(SYNC, params=query, headers=tenant.headers)
        assert answer.status_code == 200, answer.text
        payload = answer.json()["payload"]
        mirror.update({item["transaction_id"]: item for item in payload["items"]})
        query = {"cursor": payload["cursor"], "size": 2}
        if not payload["has_more"]:
            cursor: str = payload["cursor"]
            return cursor


async def test_new_reader_pages_the_calls_then_the_feed(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    ids = [await add_call(engine, tenant) for _ in range(5)]
    await backdate(engine, tenant)
    assert await prune(engine, tenant) == 5
    mirror: dict[str, Any] = {}
    answer = await client.get(SYNC, params={"from_date": 0, "size": 2}, headers=tenant.headers)
    payload = answer.json()["payload"]
    assert len(payload["items"]) == 2 and payload["has_more"]
    mirror.update({item["transaction_id"]: item for item in payload["items"]})
    # Changes while the reader is half-way: a later call and a note on one already read.
    await note(client, tenant, payload["items"][0]["transaction_id"], "đã đọc rồi")
    late = await add_call(engine, tenant)
    cursor = await pull(client, tenant, mirror, payload["cursor"], size=2)
    assert set(mirror) == {*ids, late}
    assert mirror == await store_state(client, tenant)
    # Then it is an ordinary cursor: the next change comes, nothing else.
    await note(client, tenant, ids[-1], "mới")
    after: dict[str, Any] = {}
    await pull(client, tenant, after, cursor)
    assert list(after) == [ids[-1]] and after[ids[-1]]["note"] == "mới"


async def test_new_reader_window_counts_calls_changed_in_it(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    now = now_ms()
    old = await add_call(engine, tenant, created_date=now - 200 * DAY_MS)
    mid = await add_call(engine, tenant, created_date=now - 100 * DAY_MS)
    await backdate(engine, tenant, days=95)
    assert await prune(engine, tenant) == 2
    fresh = await add_call(engine, tenant)
    mirror: dict[str, Any] = {}
    await pull_from(client, tenant, mirror, now - 150 * DAY_MS)
    assert set(mirror) == {mid, fresh}
    assert old not in mirror


async def test_zero_days_keeps_the_feed(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    await add_call(engine, tenant)
    await backdate(engine, tenant, days=1000)
    assert await prune(engine, tenant, retention_changes_days=0) == 0
    assert await prune(engine, tenant, retention_changes_days=2000) == 0
    assert await changes_of(engine, tenant) == 1


async def test_one_tenants_pruning_leaves_the_other(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    a, b = await make_tenant(engine), await make_tenant(engine)
    for tenant in (a, b):
        await add_call(engine, tenant)
        await add_call(engine, tenant)
    a_early, b_early = await first_page_cursor(client, a), await first_page_cursor(client, b)
    await backdate(engine, a)
    await backdate(engine, b, days=10)  # old for the test, young for retention
    report = await retention.prune(engine, Settings())  # every tenant, as the worker does
    assert {
        p.tenant_id: p.counts["changes"] for p in report.tenants if p.tenant_id in (a.id, b.id)
    } == {a.id: 2}
    assert await prune(engine, a) == 0  # nothing left to do: idempotent
    assert await changes_of(engine, b) == 2
    async with engine.connect() as conn:
        marks = await conn.execute(select(sync_horizons.c.tenant_id))
        assert b.id not in {r.tenant_id for r in marks}
    assert (
        await client.get(SYNC, params={"cursor": a_early}, headers=a.headers)
    ).status_code == 410
    b_rest: dict[str, Any] = {}
    await pull(client, b, b_rest, b_early)
    assert len(b_rest) == 1
    # A's expired cursor is still A's: B is told it is not its cursor, not that it expired.
    stolen = await client.get(SYNC, params={"cursor": a_early}, headers=b.headers)
    assert stolen.json()["message"] == "cursor_invalid"


async def test_postgres_keeps_changes_a_running_transaction_may_commit_below(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """A transaction that took its id first and commits last: pruning must not move the
    horizon past it, or a cursor before it would be told nothing was lost."""
    if engine.dialect.name != "postgresql":
        return
    tenant = await make_tenant(engine)
    before = await first_page_cursor(client, tenant)
    async with engine.connect() as slow:
        await slow.execute(
            calls.insert().values(
                tenant_id=tenant.id,
                transaction_id="slow",
                id=new_id(),
                created_date=now_ms() - 3 * DAY_MS,  # another day's totals row: no waiting
                last_updated_date=now_ms(),
                direction="inbound",
                disposition="answered",
            )
        )
        fast = await add_call(engine, tenant)  # a later id, committed first
        await backdate(engine, tenant)
        assert await prune(engine, tenant) == 0  # `fast` is old, but above the horizon
        await slow.commit()
    await backdate(engine, tenant)
    assert await prune(engine, tenant) == 2
    answer = await client.get(SYNC, params={"cursor": before}, headers=tenant.headers)
    assert answer.status_code == 410
    assert set(await store_state(client, tenant)) == {"slow", fast}
