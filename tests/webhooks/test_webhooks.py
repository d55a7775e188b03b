"""Webhooks: registration rules, signed deliveries, retries, crash safety, isolation."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.schema import webhooks
from callhistory.webhooks import worker
from callhistory.webhooks.signing import signature, verify
from tests.factories import Tenant, add_call, make_tenant, now_ms

HOUR = 3_600_000


class Receiver:
    """A webhook endpoint that records what it is sent and fails while told to."""

    def __init__(self) -> None:
        self.received: list[httpx.Request] = []
        self.failing = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        return httpx.Response(503 if self.failing else 200)

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))

    def deliveries(self) -> Counter[str]:
        return Counter(r.headers["X-Callhistory-Delivery"] for r in self.received)


async def register(
    client: httpx.AsyncClient,
    tenant: Tenant,
    events: list[str] | None = None,
    url: str = "https://hooks.example.vn/calls",
) -> dict[str, Any]:
    answer = await client.post(
        "/api/webhooks/register",
        json={"webhook": {"type": "call", "url": url, "events": events or ["hangup", "updated"]}},
        headers=tenant.headers,
    )
    assert answer.status_code == 201, answer.text
    payload: dict[str, Any] = answer.json()["payload"]
    return payload


async def test_register_list_destroy(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    hook = await register(client, tenant)
    assert hook["secret"].startswith("whsec_")
    listed = (await client.get("/api/webhooks/list", headers=tenant.headers)).json()["payload"]
    assert [h["id"] for h in listed["items"]] == [hook["id"]]
    assert "secret" not in listed["items"][0]
    gone = await client.post("/api/webhooks/destroy?hook_type=call", headers=tenant.headers)
    assert gone.status_code == 200
    again = await client.post("/api/webhooks/destroy?hook_type=call", headers=tenant.headers)
    assert again.json()["message"] == "webhook_not_found"


async def test_url_and_event_rules(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)

    async def code(url: str, events: list[str]) -> Any:
        answer = await client.post(
            "/api/webhooks/register",
            json={"webhook": {"type": "call", "url": url, "events": events}},
            headers=tenant.headers,
        )
        return answer.json()["payload"] if answer.status_code != 201 else 201

    assert await code("http://hooks.example.vn/x", ["hangup"]) == [
        {"field": "webhook.url", "code": "https_required"}
    ]
    assert await code("http://127.0.0.1:9000/x", ["hangup"]) == 201  # loopback, development
    assert await code("https://x.example.vn", ["exploded"]) == [
        {"field": "webhook.events", "code": "invalid_choice"}
    ]


def test_signature_verifies_and_tamper_fails() -> None:
    body = b'{"event":"hangup"}'
    header = signature("whsec_k", 1_700_000_000, body)
    assert verify("whsec_k", body, header, now=1_700_000_010)
    assert not verify("whsec_k", body + b" ", header, now=1_700_000_010)
    assert not verify("whsec_other", body, header, now=1_700_000_010)
    assert not verify("whsec_k", body, header, now=1_700_000_000 + 3600)  # replayed late
    assert not verify("whsec_k", body, "garbage", now=1_700_000_000)


async def test_hangup_and_updated_are_signed(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    hook = await register(client, tenant)
    receiver = Receiver()
    tx = await add_call(engine, tenant)
    await client.post(
        f"/api/call_transaction/change/{tx}", json={"tag": ["VIP"]}, headers=tenant.headers
    )
    async with receiver.http() as http:
        # hangup and the change arrived in one fan-out: one event, the call's latest state
        await worker.run_once(engine, http)
        await client.post(
            f"/api/call_transaction/change/{tx}", json={"note": "n"}, headers=tenant.headers
        )
        await worker.run_once(engine, http)
    first, second = [r for r in receiver.received if tenant.id in r.content.decode()]
    assert first.headers["X-Callhistory-Event"] == "hangup"
    assert second.headers["X-Callhistory-Event"] == "updated"
    for request in (first, second):  # the worker also sends other tests' tenants' events
        assert verify(hook["secret"], request.content, request.headers["X-Callhistory-Signature"])
        assert request.headers["X-Callhistory-Attempt"] == "1"
    body = orjson.loads(second.content)
    assert body["transaction_id"] == tx and body["tenant_id"] == tenant.id
    assert body["note"] == "n" and body["tag"] == ["VIP"]
    shown = await client.get("/api/webhooks/deliveries", headers=tenant.headers)
    items = shown.json()["payload"]["items"]
    assert [i["status"] for i in items] == ["delivered", "delivered"]
    assert items[0]["response_code"] == 200


async def test_only_subscribed_events(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    await register(client, tenant, events=["updated"])
    receiver = Receiver()
    await add_call(engine, tenant)
    async with receiver.http() as http:
        await worker.run_once(engine, http)
    assert [r for r in receiver.received if tenant.id in r.content.decode()] == []


async def test_crash_between_send_and_mark_resends_same_id(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    await register(client, tenant)
    await add_call(engine, tenant)
    receiver = Receiver()
    now = now_ms()
    async with receiver.http() as http:
        await worker.fan_out_all(engine, now)
        claimed = await worker.claim(engine, now)
        mine = [c for c in claimed if c.tenant_id == tenant.id]
        await worker.send(http, mine, now)  # ...and the process dies before `mark`
        await worker.run_once(engine, http, now + 1000)  # leased: not sent again yet
        assert len([r for r in receiver.received if r.url.host == "hooks.example.vn"]) == 1
        later = now + worker.LEASE_MS + 1
        while await worker.run_once(engine, http, later):
            pass
    ours = [r for r in receiver.received if r.url.host == "hooks.example.vn"]
    ids = [r.headers["X-Callhistory-Delivery"] for r in ours]
    assert len(ids) == 2 and ids[0] == ids[1]
    assert [r.headers["X-Callhistory-Attempt"] for r in ours] == ["1", "2"]


async def test_failing_receiver_recovers_every_event_once(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    await register(client, tenant)
    calls = {await add_call(engine, tenant) for _ in range(5)}
    receiver = Receiver()
    receiver.failing = True
    now = now_ms()
    async with receiver.http() as http:
        await worker.run_once(engine, http, now)
        await worker.run_once(engine, http, now + 10_000)  # backing off: nothing due
        receiver.failing = False
        t = now
        for _ in range(6):
            t += worker.MAX_RETRY_MS
            await worker.run_once(engine, http, t)
    mine = [r for r in receiver.received if orjson.loads(r.content)["tenant_id"] == tenant.id]
    ok = [r for r in mine if r.headers["X-Callhistory-Attempt"] != "1"]
    assert {orjson.loads(r.content)["transaction_id"] for r in ok} == calls
    assert all(n == 2 for n in Counter(r.headers["X-Callhistory-Delivery"] for r in mine).values())
    shown = await client.get("/api/webhooks/deliveries", headers=tenant.headers)
    assert {i["status"] for i in shown.json()["payload"]["items"]} == {"delivered"}


async def test_parked_after_a_day_then_paused_and_redelivered(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    await register(client, tenant)
    await add_call(engine, tenant)
    receiver = Receiver()
    receiver.failing = True
    t = now_ms()
    async with receiver.http() as http:
        for _ in range(30):
            await worker.run_once(engine, http, t)
            t += worker.MAX_RETRY_MS
        async with engine.connect() as conn:
            status = await conn.scalar(
                select(webhooks.c.status).where(webhooks.c.tenant_id == tenant.id)
            )
        assert status == "paused"
        items = (await client.get("/api/webhooks/deliveries", headers=tenant.headers)).json()[
            "payload"
        ]["items"]
        assert [i["status"] for i in items] == ["parked"]
        assert items[0]["response_code"] == 503
        # The receiver is fixed: register again (resumes), then redeliver the parked one.
        receiver.failing = False
        await register(client, tenant)
        redo = await client.post(
            f"/api/webhooks/deliveries/{items[0]['id']}/redeliver", headers=tenant.headers
        )
        assert redo.status_code == 202
        before = len(receiver.received)
        await worker.run_once(engine, http, now_ms())
    assert receiver.received[before].headers["X-Callhistory-Delivery"] == items[0]["id"]


async def test_tenant_isolation(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    a, b = await make_tenant(engine), await make_tenant(engine)
    await register(client, a, url="https://a.example.vn/h")
    hook_b = await register(client, b, url="https://b.example.vn/h")
    await add_call(engine, a)
    receiver = Receiver()
    async with receiver.http() as http:
        await worker.run_once(engine, http)
    to_b = [r for r in receiver.received if r.url.host == "b.example.vn"]
    assert to_b == []
    seen_by_b = (await client.get("/api/webhooks/deliveries", headers=b.headers)).json()
    assert seen_by_b["payload"]["items"] == []
    a_items = (await client.get("/api/webhooks/deliveries", headers=a.headers)).json()
    delivery = a_items["payload"]["items"][0]["id"]
    stolen = await client.post(f"/api/webhooks/deliveries/{delivery}/redeliver", headers=b.headers)
    assert stolen.status_code == 404
    listed = (await client.get("/api/webhooks/list", headers=b.headers)).json()["payload"]
    assert [h["id"] for h in listed["items"]] == [hook_b["id"]]
