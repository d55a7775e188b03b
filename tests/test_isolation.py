"""One tenant never sees nor changes another's data, on every endpoint.

Tenant A (the victim) and tenant B (the caller) share a transaction id, agents' emails
and extensions, tag and criterion names. B calls every endpoint of the OpenAPI document
with A's ids; afterwards every row A owns, in every table, is exactly as before, and no
answer to B holds anything of A's. A new endpoint with a path parameter fails this test
until it is added to ATTEMPTS below.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.schema import metadata
from tests.factories import Tenant, add_agent, add_call, make_tenant, now_ms
from tests.ingest.freeswitch_posts import document, post_leg

SHARED_TX = "shared-transaction-0001"
SECRET = "Khách Bí Mật Của A"  # a customer name only A has


async def snapshot(engine: AsyncEngine, tenant: Tenant) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the tenant owns, table by table, in a stable order."""
    found = {}
    async with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if "tenant_id" not in table.c:
                continue
            rows = await conn.execute(select(table).where(table.c.tenant_id == tenant.id))
            found[table.name] = sorted((tuple(map(repr, r)) for r in rows), key=repr)
    return found


async def victim(engine: AsyncEngine, client: httpx.AsyncClient) -> dict[str, str]:
    tenant = await make_tenant(engine, "victim")
    agent = await add_agent(engine, tenant, "Nguyễn Văn A", "101", "a@shared.vn")
    for tx in (SHARED_TX, "a-only-transaction"):
        await add_call(
            engine,
            tenant,
            transaction_id=tx,
            agents_on_call=[agent],
            customer_name=SECRET,
            tags=["VIP"],
            note="ghi chú của A",
            recording_file="https://rec.victim-only.example/a.mp3",
        )
    criterion = await client.post(
        "/api/evaluation_criteria/call",
        headers=tenant.headers,
        json={"name": "Chào khách", "max_score": 5},
    )
    tags = await client.get("/api/tags", headers=tenant.headers)
    export = await client.post(
        "/api/exports",
        headers=tenant.headers,
        json={"from_date": 0, "to_date": now_ms(), "format": "csv"},
    )
    hook = await client.post(
        "/api/webhooks/register",
        headers=tenant.headers,
        json={"webhook": {"type": "call", "url": "https://crm.victim-only.example/hook"}},
    )
    assert export.is_success and hook.is_success, (export.text, hook.text)
    export_id = export.json()["payload"]["id"]
    for _ in range(100):  # let it finish, so the snapshot sees only what B could change
        shown = await client.get(f"/api/exports/{export_id}", headers=tenant.headers)
        if shown.json()["payload"]["status"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.05)
    assert (await post_leg(client, tenant.api_key, document("local-answered-aleg"))).is_success
    return {
        "api_key": tenant.api_key,
        "tenant_id": tenant.id,
        "transaction_id": "a-only-transaction",
        "criteria_id": criterion.json()["payload"]["id"],
        "tag_id": tags.json()["payload"]["items"][0]["id"],
        "agent_uuid": agent.user_uuid,
        "export_id": export_id,
    }


def attempts(a: dict[str, str]) -> list[tuple[str, str, Any]]:
    """(method, path, json body) B tries against A's ids."""
    tx, criterion, tag = a["transaction_id"], a["criteria_id"], a["tag_id"]
    evaluation = {
        "user_uuid": a["agent_uuid"],
        "evaluation": {"criteria": [{"criteria_id": criterion, "score": 5}]},
    }
    return [
        ("GET", f"/api/call_transaction/detail/{tx}", None),
        ("POST", f"/api/call_transaction/change/{tx}", {"note": "pwned", "tag": ["x"]}),
        ("POST", f"/api/call_transaction/add_evaluation/{tx}", evaluation),
        ("POST", f"/api/call_transaction/add_evaluation/{SHARED_TX}", evaluation),
        ("PUT", f"/api/evaluation_criteria/call/{criterion}", {"name": "pwned"}),
        ("DELETE", f"/api/evaluation_criteria/call/{criterion}", None),
        ("PUT", "/api/evaluation_criteria/call/order", {"ids": [criterion]}),
        ("PUT", f"/api/tags/{tag}", {"name": "pwned"}),
        ("DELETE", f"/api/tags/{tag}", None),
        ("DELETE", f"/api/call_transaction/detail/{tx}", None),
        ("GET", f"/api/call_transaction/recording/{tx}", None),
        ("GET", f"/api/call_transaction/recording/{tx}/link", None),
        ("GET", f"/api/recordings/{tx}?tenant={a['tenant_id']}&expires=9999999999&sig=0", None),
        ("GET", f"/api/exports/{a['export_id']}", None),
        ("GET", f"/api/exports/{a['export_id']}/download", None),
        ("POST", f"/api/webhooks/deliveries/{a['export_id']}/redeliver", None),
        ("POST", "/api/webhooks/destroy?hook_type=call", None),  # B has none: A's stays
    ]


PARAMETERISED = {
    "/api/call_transaction/detail/{transaction_id}",
    "/api/call_transaction/change/{transaction_id}",
    "/api/call_transaction/add_evaluation/{transaction_id}",
    "/api/evaluation_criteria/call/{criteria_id}",
    "/api/tags/{tag_id}",
    "/api/exports/{export_id}",
    "/api/exports/{export_id}/download",
    "/api/call_transaction/recording/{transaction_id}",
    "/api/call_transaction/recording/{transaction_id}/link",
    "/api/recordings/{transaction_id}",
    "/api/webhooks/deliveries/{delivery_id}/redeliver",
}


async def caller_with_lookalikes(engine: AsyncEngine, client: httpx.AsyncClient) -> Tenant:
    """B: the same shared transaction id, agent email and extension, tag name."""
    tenant = await make_tenant(engine, "caller")
    agent = await add_agent(engine, tenant, "Trần Văn B", "101", "a@shared.vn")
    await add_call(engine, tenant, transaction_id=SHARED_TX, agents_on_call=[agent], tags=["VIP"])
    return tenant


async def test_no_endpoint_crosses_tenants(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    a = await victim(engine, client)
    a_tenant = Tenant(a["tenant_id"], "victim", a["api_key"], "")
    b = await caller_with_lookalikes(engine, client)
    before = await snapshot(engine, a_tenant)

    paths = client_paths(client)
    assert {p for p in paths if "{" in p} <= PARAMETERISED, "cover the new endpoint here"
    for method, path, body in attempts(a):
        answer = await client.request(method, path, json=body, headers=b.headers)
        assert answer.status_code in (400, 403, 404), (method, path, answer.text)
        assert SECRET not in answer.text

    # B's writes to its own look-alikes succeed and stay B's.
    change = await client.post(
        f"/api/call_transaction/change/{SHARED_TX}", headers=b.headers, json={"note": "B's"}
    )
    assert change.status_code == 200, change.text
    for kind, item in (
        ("agents", {"full_name": "B bulk", "email": "a@shared.vn", "sip_user": "101"}),
        ("customers", {"full_name": "B's customer", "phones": ["0912345678"]}),
    ):
        bulk = await client.post(f"/api/{kind}/bulk", headers=b.headers, json={"items": [item]})
        assert bulk.status_code == 200
    assert (await post_leg(client, b.api_key, document("local-answered-aleg"))).is_success

    # Nothing B reads holds anything of A's.
    window = f"from_date={now_ms() - 20 * 86_400_000}&to_date={now_ms()}"
    reads = [
        f"/api/call_transaction/list?{window}",
        f"/api/call_transaction/report?{window}",
        f"/api/evaluations/report?{window}",
        "/api/agent/list",
        "/api/customers/list",
        "/api/tags",
        "/api/evaluation_criteria/call/list?include_inactive=true",
        "/api/cdr/rejections",
        "/api/prices/list",
        "/api/webhooks/list",
        "/api/webhooks/deliveries",
        f"/api/call_transaction/sync?from_date={now_ms() - 20 * 86_400_000}",
    ]
    for path in reads:
        answer = await client.get(path, headers=b.headers)
        assert answer.status_code == 200, (path, answer.text)
        for secret in (
            SECRET,
            "a-only-transaction",
            "ghi chú của A",
            a["criteria_id"],
            "crm.victim-only.example",
        ):
            assert secret not in answer.text, (path, secret)
    search = await client.post(
        "/api/call_transaction/search",
        headers=b.headers,
        json={"from_date": now_ms() - 20 * 86_400_000, "to_date": now_ms(), "user_uuids": ["101"]},
    )
    assert search.status_code == 200 and SECRET not in search.text

    assert await snapshot(engine, a_tenant) == before


def client_paths(client: httpx.AsyncClient) -> set[str]:
    transport = client._transport  # the ASGI app behind the test client
    app = transport.app  # type: ignore[attr-defined]
    return set(app.openapi()["paths"])
