"""Concurrent FreeSWITCH posts share transactions, and still fail only one by one."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.ingest import pipeline, queue
from callhistory.ingest.bulk import store_calls
from callhistory.schema import calls
from tests.ingest.freeswitch_posts import FIXTURES, call_center, document, post_leg

LEGS = sorted(p.stem for p in FIXTURES.glob("*.json"))


async def _post_all(client: httpx.AsyncClient, api_key: str, names: list[str]) -> list[Any]:
    return list(
        await asyncio.gather(
            *(post_leg(client, api_key, document(name), "urlencoded") for name in names)
        )
    )


async def _stored_calls(engine: AsyncEngine, tenant_id: str) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(
            select(func.count()).select_from(calls).where(calls.c.tenant_id == tenant_id)
        )
    return int(count or 0)


async def test_concurrent_posts_share_transactions(
    engine: AsyncEngine, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await call_center(engine, client)
    batches: list[int] = []
    real = queue.store_legs

    async def counted(conn: Any, tenant_id: str, posted: Any, recordings: Any, **kw: Any) -> Any:
        batches.append(len(posted))
        return await real(conn, tenant_id, posted, recordings, **kw)

    monkeypatch.setattr(queue, "store_legs", counted)
    answers = await _post_all(client, tenant.api_key, LEGS)
    assert [a.status_code for a in answers] == [200] * len(LEGS)
    assert sum(batches) == len(LEGS) and len(batches) < len(LEGS)
    # Each call is stored once, by one of its legs; its other legs update or change nothing.
    by_call: dict[str, Counter[str]] = {}
    for answer in answers:
        payload = answer.json()["payload"]
        by_call.setdefault(payload["transaction_id"], Counter())[payload["status"]] += 1
    assert all(outcomes["stored"] == 1 for outcomes in by_call.values())
    assert await _stored_calls(engine, tenant.id) == len(by_call)


async def test_a_refused_call_fails_only_its_own_post(
    engine: AsyncEngine, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await call_center(engine, client)
    refused = "local-answered-aleg"
    refused_call = (await post_leg(client, tenant.api_key, document(refused))).json()["payload"][
        "transaction_id"
    ]

    async def refusing(conn: Any, tenant_id: str, entries: Any, *, isolated: bool) -> Any:
        ids = [e.transaction_id for e in entries]
        if refused_call in ids and not isolated:
            # As the database would: the statement fails and spoils the transaction.
            raise DBAPIError("INSERT …", None, Exception("value out of range"))
        outcomes = await store_calls(conn, tenant_id, entries, isolated=isolated)
        return [None if tx == refused_call else o for tx, o in zip(ids, outcomes, strict=True)]

    monkeypatch.setattr(pipeline, "store_calls", refusing)
    other = "outbound-answered-aleg"
    answers = dict(
        zip(
            [refused, other], await _post_all(client, tenant.api_key, [refused, other]), strict=True
        )
    )
    assert answers[other].status_code == 200
    assert (answers[refused].status_code, answers[refused].json()["message"]) == (
        400,
        "store_failed",
    )
    kept = await client.get("/api/cdr/rejections", headers={"x-api-key": tenant.api_key})
    assert [r["reason"] for r in kept.json()["payload"]["items"]] == ["store_failed"]


async def test_a_failed_shared_transaction_stores_each_post_alone(
    engine: AsyncEngine, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await call_center(engine, client)
    real = queue.store_legs
    shared_failures = 0

    async def failing_when_shared(
        conn: Any, tenant_id: str, posted: Any, recordings: Any, **kw: Any
    ) -> Any:
        nonlocal shared_failures
        if len(posted) > 1:
            shared_failures += 1
            raise RuntimeError("one of them is bad")
        return await real(conn, tenant_id, posted, recordings, **kw)

    monkeypatch.setattr(queue, "store_legs", failing_when_shared)
    answers = await _post_all(client, tenant.api_key, LEGS)
    assert [a.status_code for a in answers] == [200] * len(LEGS)
    assert shared_failures >= 1
    assert await _stored_calls(engine, tenant.id) == len(
        {a.json()["payload"]["transaction_id"] for a in answers}
    )
