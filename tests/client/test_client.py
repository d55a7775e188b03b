"""The Python client against the app itself (ASGI transport)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.app import create_app
from callhistory.client import CallHistoryClient, CallHistoryError, verify_signature
from callhistory.ratelimit import Limits, RateLimiter
from callhistory.webhooks.signing import signature
from tests.factories import DAY_MS, Tenant, add_agent, add_call, make_tenant, now_ms, window


@pytest.fixture
async def tenant(engine: AsyncEngine) -> Tenant:
    return await make_tenant(engine)


@pytest.fixture
async def api(engine: AsyncEngine, tenant: Tenant) -> AsyncIterator[CallHistoryClient]:
    app = create_app(engine, rate_limiter=RateLimiter(Limits(api=None, ingest=None)))
    transport = httpx.ASGITransport(app=app)
    async with CallHistoryClient("http://test", tenant.api_key, transport=transport) as client:
        yield client


async def test_iterators_page_through(
    api: CallHistoryClient, engine: AsyncEngine, tenant: Tenant
) -> None:
    agent = await add_agent(engine, tenant, "Nguyễn An", "101")
    ids = {await add_call(engine, tenant, agents_on_call=[agent]) for _ in range(7)}
    listed = [c["transaction_id"] async for c in api.iter_list(size=3, **window())]
    assert set(listed) == ids and len(listed) == 7
    body = {**window(), "user_uuids": ["101"]}
    found = [c["transaction_id"] async for c in api.iter_search(body, size=2)]
    assert set(found) == ids
    synced = {c["transaction_id"]: cursor async for c, cursor in api.iter_sync(size=2)}
    assert set(synced) == ids
    await api.change(listed[0], note="hi")
    cursor = list(synced.values())[-1]
    again = [c async for c, _ in api.iter_sync(cursor)]
    assert [c["note"] for c in again] == ["hi"]


async def test_errors_raise_with_the_code(api: CallHistoryClient) -> None:
    with pytest.raises(CallHistoryError) as caught:
        await api.detail("nope")
    assert caught.value.status == 404 and caught.value.code == "transaction_not_found"
    with pytest.raises(CallHistoryError):
        await api.list_page(from_date=0, to_date=now_ms() + 90 * DAY_MS)


async def test_retries_429_after_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "limit"}),
        httpx.Response(200, json={"status_code": 9999, "payload": {"items": []}}),
    ]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("callhistory.client.asyncio.sleep", fake_sleep)
    transport = httpx.MockTransport(lambda _: answers.pop(0))
    async with CallHistoryClient("http://x", "k", transport=transport) as client:
        assert await client.webhooks() == []
    assert slept == [7.0]


async def test_webhook_and_export_helpers(api: CallHistoryClient, tenant: Tenant) -> None:
    hook = await api.register_webhook("https://h.example.vn/x", ["hangup"])
    assert [h["id"] for h in await api.webhooks()] == [hook["id"]]
    body = b'{"a":1}'
    header = signature(hook["secret"], now_ms() // 1000, body)
    assert verify_signature(hook["secret"], body, header)
    assert not verify_signature(hook["secret"], body + b"x", header)
