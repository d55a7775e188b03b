"""Ingested calls are stored once, updated with new PBX facts, and keep people's work."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from callhistory.calls.queries import one
from callhistory.calls.store import view_search_text
from callhistory.db import writing
from callhistory.ingest.bulk import Entry, store_calls
from callhistory.ingest.records import AgentOnCall, CallRecord
from callhistory.ingest.store import upsert_call
from callhistory.schema import calls
from tests.factories import DAY_MS, make_tenant, now_ms, window

TIEN = AgentOnCall(
    sip_user="101", user_uuid="NV101", email="Tien@Acme.vn", full_name="Trần Văn Tiến"
)
LAN = AgentOnCall(sip_user="102", user_uuid="NV102", email="lan@acme.vn", full_name="Lý Thị Lan")


def _record(**changes: object) -> CallRecord:
    base = CallRecord(
        transaction_id="5a1e9c2e-0000-4000-8000-000000000001",
        created_date=now_ms() - DAY_MS,
        direction="inbound",
        disposition="answered",
        source_number="0912345678",
        destination_number="19001234",
        hotline="19001234",
        sip_user="101",
        bill_sec=42,
        duration=50,
        customer_name="Nguyễn Thị Bích",
        agents=(TIEN,),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def test_stored_once_then_unchanged_then_updated(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(engine)
    record = _record()
    async with writing(engine) as conn:
        assert await upsert_call(conn, t.id, record) == "stored"
    async with writing(engine) as conn:
        assert await upsert_call(conn, t.id, record) == "unchanged"

    tx = record.transaction_id
    r = await client.post(
        f"/api/call_transaction/change/{tx}",
        json={"note": "giữ lại", "tag": ["VIP"]},
        headers=t.headers,
    )
    assert r.status_code == 200
    await client.post(
        f"/api/call_transaction/change/{tx}",
        json={"user_uuid": "NV101", "note": "của Tiến", "tag": ["tốt"]},
        headers=t.headers,
    )
    async with writing(engine) as conn:
        assert await upsert_call(conn, t.id, _record(bill_sec=43, agents=(LAN, TIEN))) == "updated"

    p = (await client.get(f"/api/call_transaction/detail/{tx}", headers=t.headers)).json()[
        "payload"
    ]
    assert p["bill_sec"] == 43
    assert (p["note"], p["tag"]) == ("giữ lại", ["VIP"])
    assert [u["full_name"] for u in p["user"]] == ["Lý Thị Lan", "Trần Văn Tiến"]
    assert p["user"][1]["note"] == "của Tiến" and p["user"][1]["tag"] == [{"name": "tốt"}]
    assert p["user"][0]["note"] == "" and p["user"][0]["tag"] == []

    listed = await client.get(
        "/api/call_transaction/list", params={**window(), "keyword": "bich"}, headers=t.headers
    )
    assert listed.json()["payload"]["total_items"] == 1
    by_agent = await client.get(
        "/api/call_transaction/list",
        params={**window(), "agents": "tien@acme.vn"},
        headers=t.headers,
    )
    assert by_agent.json()["payload"]["total_items"] == 1


async def test_same_transaction_id_in_two_tenants_is_two_calls(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    a, b = await make_tenant(engine), await make_tenant(engine)
    async with writing(engine) as conn:
        assert await upsert_call(conn, a.id, _record()) == "stored"
        assert await upsert_call(conn, b.id, _record(bill_sec=7)) == "stored"
    tx = _record().transaction_id
    pa = (await client.get(f"/api/call_transaction/detail/{tx}", headers=a.headers)).json()[
        "payload"
    ]
    pb = (await client.get(f"/api/call_transaction/detail/{tx}", headers=b.headers)).json()[
        "payload"
    ]
    assert (pa["bill_sec"], pb["bill_sec"]) == (42, 7)


async def _via_batch(conn: AsyncConnection, tenant_id: str, record: CallRecord) -> str | None:
    (outcome,) = await store_calls(conn, tenant_id, [Entry(record)])
    return outcome


@pytest.mark.parametrize("store", [upsert_call, _via_batch], ids=["one", "batch"])
@pytest.mark.parametrize("agents", [(TIEN,), (LAN, TIEN), (LAN,)], ids=["same", "added", "other"])
async def test_updated_search_text_is_what_a_refresh_computes(
    engine: AsyncEngine, client: httpx.AsyncClient, store: Any, agents: tuple[AgentOnCall, ...]
) -> None:
    """Ingest writes the keyword text from the record and what people kept, without
    reading the call back: it must equal the text rebuilt from the stored call."""
    t = await make_tenant(engine)
    record = _record()
    async with writing(engine) as conn:
        assert await store(conn, t.id, record) == "stored"
    tx = record.transaction_id
    for change in (
        {"note": "khách hẹn gọi lại", "tag": ["VIP", "Hẹn"]},
        {"user_uuid": "NV101", "note": "Tiến ghi chú", "tag": ["tốt"]},
    ):
        answer = await client.post(
            f"/api/call_transaction/change/{tx}", json=change, headers=t.headers
        )
        assert answer.status_code == 200
    newer = _record(bill_sec=60, customer_name="Phạm Minh Châu", agents=agents)
    async with writing(engine) as conn:
        assert await store(conn, t.id, newer) == "updated"
        view = await one(conn, t.id, tx)
        stored = await conn.scalar(
            select(calls.c.search_text).where(
                calls.c.tenant_id == t.id, calls.c.transaction_id == tx
            )
        )
    assert view is not None
    assert stored == view_search_text(view)
    assert ("tien ghi chu" in (stored or "").split("\n")) == (TIEN in agents)
