"""`POST /api/cdr`: a batch of calls in our own shape, each item answered on its own."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.db import writing
from callhistory.ingest.bulk import Entry, store_calls
from callhistory.ingest.records import AgentOnCall, CallRecord
from callhistory.schema import calls, ingest_rejections
from tests.factories import DAY_MS, Tenant, add_call, make_tenant, now_ms, window


def item(**changes: Any) -> dict[str, Any]:
    start = now_ms() - DAY_MS
    base: dict[str, Any] = {
        "transaction_id": str(uuid.uuid4()),
        "created_date": start,
        "direction": "outbound",
        "source_number": "101",
        "destination_number": "0987654321",
        "disposition": "answered",
        "bill_sec": 61,
        "duration": 70,
        "time_start_to_answer": start // 1000 + 9,
        "sip_user": "101",
        "hangup_cause": "NORMAL_CLEARING",
        "hangup_cause_q850": 16,
    }
    return {**base, **changes}


async def post(client: httpx.AsyncClient, tenant: Tenant, body: Any) -> httpx.Response:
    return await client.post("/api/cdr", json=body, headers=tenant.headers)


async def statuses(client: httpx.AsyncClient, tenant: Tenant, body: Any) -> list[str]:
    answer = await post(client, tenant, body)
    assert answer.status_code == 200, answer.text
    return [r["status"] for r in answer.json()["payload"]["results"]]


async def directory(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for kind, entries in {
        "agents": [{"full_name": "Trần Văn Tiến", "sip_user": "101", "email": "tien@acme.vn"}],
        "customers": [{"full_name": "Nguyễn Thị Bích", "phones": ["0987654321"]}],
        "prices": [
            {
                "carrier": "viettel",
                "price_per_minute": 600,
                "first_block_sec": 6,
                "next_block_sec": 6,
            }
        ],
    }.items():
        answer = await client.post(
            f"/api/{kind}/bulk", json={"items": entries}, headers=tenant.headers
        )
        assert answer.json()["payload"]["rejected"] == 0, answer.text


async def detail(client: httpx.AsyncClient, tenant: Tenant, tx: str) -> dict[str, Any]:
    answer = await client.get(f"/api/call_transaction/detail/{tx}", headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    payload: dict[str, Any] = answer.json()["payload"]
    return payload


async def test_good_items_are_enriched_and_stored_once(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    t = await make_tenant(engine)
    await directory(client, t)
    out = item(note="khách hẹn gọi lại", tag=["VIP", "vip", "hài lòng"])
    inbound = item(
        direction=None,
        source_number="+84987654321",
        destination_number="19001234",
        sip_user="101",
        disposition="cancelled",
        bill_sec=0,
        time_start_to_answer=None,
        customer={"full_name": "ignored: the directory knows this number"},
    )
    batch = [out, inbound]
    answer = await post(client, t, batch)
    assert answer.status_code == 200
    payload = answer.json()["payload"]
    assert [
        (r["index"], r["transaction_id"], r["status"], r["errors"]) for r in payload["results"]
    ] == [
        (0, out["transaction_id"], "stored", []),
        (1, inbound["transaction_id"], "stored", []),
    ]
    assert (payload["stored"], payload["rejected"]) == (2, 0)

    first = await detail(client, t, out["transaction_id"])
    assert first["direction"] == "outbound" and first["disposition"] == "answered"
    assert (first["sip_user"], first["user"][0]["full_name"]) == ("101", "Trần Văn Tiến")
    assert first["customer"]["full_name"] == "Nguyễn Thị Bích"
    assert first["provider"] == "viettel"
    assert first["call_out_price"] == 660  # 61 s in 6 s blocks: 66 s at 600 VND/min
    assert (first["bill_sec"], first["duration"]) == (61, 70)
    assert (first["note"], first["tag"]) == ("khách hẹn gọi lại", ["VIP", "hài lòng"])
    second = await detail(client, t, inbound["transaction_id"])
    assert second["direction"] == "inbound" and second["disposition"] == "cancelled"
    assert second["customer"]["full_name"] == "Nguyễn Thị Bích"

    listed = await client.get(
        "/api/call_transaction/list", params={**window(), "keyword": "bich"}, headers=t.headers
    )
    assert listed.json()["payload"]["total_items"] == 2

    assert await statuses(client, t, batch) == ["unchanged", "unchanged"]
    changed = {**out, "bill_sec": 62, "note": "not applied to a stored call"}
    assert await statuses(client, t, [changed, inbound]) == ["updated", "unchanged"]
    again = await detail(client, t, out["transaction_id"])
    assert again["bill_sec"] == 62
    assert (again["note"], again["tag"]) == ("khách hẹn gọi lại", ["VIP", "hài lòng"])


async def test_the_same_call_twice_in_one_batch(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    t = await make_tenant(engine)
    one = item()
    assert await statuses(client, t, [one, one, {**one, "bill_sec": 5}]) == [
        "stored",
        "unchanged",
        "updated",
    ]
    assert (await detail(client, t, one["transaction_id"]))["bill_sec"] == 5


BAD_ITEMS: list[tuple[Any, set[tuple[str, str]]]] = [
    ("not an object", {("item", "must_be_an_object")}),
    (
        {},
        {
            ("transaction_id", "required"),
            ("created_date", "required"),
            ("source_number", "required"),
            ("destination_number", "required"),
        },
    ),
    (item(transaction_id=""), {("transaction_id", "required")}),
    (item(transaction_id="x" * 65), {("transaction_id", "too_long")}),
    (item(created_date="yesterday"), {("created_date", "must_be_an_integer")}),
    (item(created_date=1_700_000_000), {("created_date", "date_invalid")}),
    (item(created_date=now_ms() + 30 * DAY_MS), {("created_date", "date_invalid")}),
    (item(source_number=None), {("source_number", "required")}),
    (item(source_number=["0912"]), {("source_number", "must_be_a_string")}),
    (item(destination_number="09\x0012"), {("destination_number", "nul_byte")}),
    (item(direction="sideways"), {("direction", "invalid_choice")}),
    (item(disposition="maybe"), {("disposition", "invalid_choice")}),
    (item(bill_sec=-1), {("bill_sec", "too_small")}),
    (item(duration=3.5), {("duration", "must_be_an_integer")}),
    (item(hangup_cause_q850=300), {("hangup_cause_q850", "too_large")}),
    (item(is_auto_call="perhaps"), {("is_auto_call", "must_be_a_boolean")}),
    (item(rtp_audio_in_mos="good"), {("rtp_audio_in_mos", "must_be_a_number")}),
    (item(sip_user="1" * 33), {("sip_user", "too_long")}),
    (item(note="n" * 5001), {("note", "too_long")}),
    (item(tag="VIP"), {("tag", "must_be_a_list")}),
    (item(tag=["ok", "  "]), {("tag", "empty_tag")}),
    (item(tag=["t" * 101]), {("tag", "tag_too_long")}),
    (item(tag=[f"t{i}" for i in range(51)]), {("tag", "too_many_tags")}),
    (item(time_end_call=now_ms()), {("time_end_call", "date_invalid")}),
    (item(time_start_to_answer=1_000), {("time_start_to_answer", "before_created_date")}),
    (
        item(time_end_call=(now_ms() - DAY_MS) // 1000 + 2),
        {("time_end_call", "before_time_start_to_answer")},
    ),
]


@pytest.mark.parametrize(("bad", "expected"), BAD_ITEMS)
async def test_each_bad_item_is_refused_with_its_field_and_code(
    client: httpx.AsyncClient, engine: AsyncEngine, bad: Any, expected: set[tuple[str, str]]
) -> None:
    t = await make_tenant(engine)
    good = item()
    answer = await post(client, t, [good, bad])
    assert answer.status_code == 200
    results = answer.json()["payload"]["results"]
    assert results[0]["status"] == "stored"
    assert results[1]["status"] == "rejected"
    assert {(e["field"], e["code"]) for e in results[1]["errors"]} == expected

    logged = await client.get("/api/cdr/rejections", headers=t.headers)
    (kept,) = logged.json()["payload"]["items"]
    assert kept["source"] == "batch"
    assert kept["reason"] == results[1]["errors"][0]["code"]
    assert kept["content_type"] == "application/json"


async def test_unknown_fields_are_ignored_and_transaction_ids_may_be_numbers(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    t = await make_tenant(engine)
    answer = await post(
        client, t, [item(transaction_id=123456, whatever={"x": 1}, _id="abc", evaluations=None)]
    )
    (result,) = answer.json()["payload"]["results"]
    assert (result["transaction_id"], result["status"]) == ("123456", "stored")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"", 400, "request_body_required"),
        (b"[{", 400, "invalid_json"),
        (b'{"items": []}', 400, "body_must_be_an_array"),
        (b'"calls"', 400, "body_must_be_an_array"),
    ],
)
async def test_whole_batch_refusals(
    client: httpx.AsyncClient, engine: AsyncEngine, body: bytes, status: int, code: str
) -> None:
    t = await make_tenant(engine)
    answer = await client.post(
        "/api/cdr",
        content=body,
        headers={**t.headers, "content-type": "application/json"},
    )
    assert answer.status_code == status
    assert answer.json()["status_code"] == -9999 and answer.json()["message"] == code
    (kept,) = (await client.get("/api/cdr/rejections", headers=t.headers)).json()["payload"][
        "items"
    ]
    assert (kept["source"], kept["reason"]) == ("batch", code)


async def test_batch_limits_and_auth(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    t = await make_tenant(engine)
    too_many = await post(client, t, [item() for _ in range(1001)])
    assert too_many.status_code == 413 and too_many.json()["message"] == "too_many_items"
    assert (await post(client, t, [])).json()["payload"]["results"] == []
    anonymous = await client.post("/api/cdr", json=[item()])
    assert anonymous.status_code == 401
    assert anonymous.json()["message"] == "api_key_is_required"
    wrong = await client.post("/api/cdr", json=[item()], headers={"x-api-key": "ch_nope"})
    assert wrong.status_code == 401
    token = (await client.get("/api/auth", params={"apiKey": t.api_key})).json()["payload"]
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert (await client.post("/api/cdr", json=[item()], headers=bearer)).status_code == 200


async def test_a_batch_never_touches_another_tenants_call(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    a, b = await make_tenant(engine, "a"), await make_tenant(engine, "b")
    tx = str(uuid.uuid4())
    await add_call(engine, b, transaction_id=tx, note="B's own", bill_sec=7)
    assert await statuses(client, a, [item(transaction_id=tx, bill_sec=99)]) == ["stored"]
    assert await statuses(client, a, [item(transaction_id=tx, bill_sec=98)]) == ["updated"]
    theirs = await detail(client, b, tx)
    assert (theirs["bill_sec"], theirs["note"]) == (7, "B's own")
    assert (await detail(client, a, tx))["bill_sec"] == 98
    async with engine.connect() as conn:
        owners = (
            await conn.execute(select(calls.c.tenant_id).where(calls.c.transaction_id == tx))
        ).all()
        assert sorted(o for (o,) in owners) == sorted([a.id, b.id])
        logged = await conn.scalar(
            select(ingest_rejections.c.id).where(ingest_rejections.c.tenant_id == b.id)
        )
    assert logged is None


async def test_a_call_the_database_refuses_costs_only_itself(engine: AsyncEngine) -> None:
    t = await make_tenant(engine)
    start = now_ms() - DAY_MS

    def record(**changes: Any) -> CallRecord:
        base = CallRecord(str(uuid.uuid4()), start, "inbound", "answered", "0912345678", "1900")
        return dataclasses.replace(base, **changes)

    good, other = record(), record()
    broken = record(direction=None)  # NOT NULL: refused by either database
    async with writing(engine) as conn:
        outcomes = await store_calls(conn, t.id, [Entry(good), Entry(broken), Entry(other)])
    assert outcomes == ["stored", None, "stored"]
    async with engine.connect() as conn:
        stored = await conn.scalar(
            select(calls.c.transaction_id).where(
                calls.c.tenant_id == t.id, calls.c.transaction_id == other.transaction_id
            )
        )
    assert stored == other.transaction_id


async def test_awkward_text_survives_the_multi_row_insert(engine: AsyncEngine) -> None:
    t = await make_tenant(engine)
    awkward = 'Lê "Bé" \\ {Ba}, NULL ; \' 🙂'
    record = CallRecord(
        str(uuid.uuid4()),
        now_ms() - DAY_MS,
        "inbound",
        "answered",
        "0912345678",
        "19001234",
        customer_name=awkward,
        rtp_audio_in_mos=4.25,
        is_voicemail=True,
        create_by={"name": awkward, "nested": [1, None, {"x": "y"}]},
        agents=(AgentOnCall("101", None, None, None, awkward),),
    )
    async with writing(engine) as conn:
        assert await store_calls(conn, t.id, [Entry(record, note=awkward, tags=(awkward,))]) == [
            "stored"
        ]
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(calls).where(
                    calls.c.tenant_id == t.id, calls.c.transaction_id == record.transaction_id
                )
            )
        ).one()
    assert (row.customer_name, row.note, row.rtp_audio_in_mos) == (awkward, awkward, 4.25)
    assert row.is_voicemail is True and row.hangup_cause is None
    assert row.create_by == {"name": awkward, "nested": [1, None, {"x": "y"}]}
    async with writing(engine) as conn:
        assert await store_calls(conn, t.id, [Entry(record)]) == ["unchanged"]


async def test_agents_rewritten_together_keep_their_notes_and_tags(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """A batch that changes the agents of several calls: an agent's note (calls rewritten
    together) and an agent's tags (a call rewritten alone) follow the agent to its new place."""
    t = await make_tenant(engine)
    thu, anh = AgentOnCall("601", full_name="Thu"), AgentOnCall("602", full_name="Anh")

    def record(tx: str, *agents: AgentOnCall) -> CallRecord:
        return CallRecord(
            tx, now_ms() - DAY_MS, "inbound", "answered", "0912345678", "1900", agents=agents
        )

    noted, tagged, plain = (str(uuid.uuid4()) for _ in range(3))
    async with writing(engine) as conn:
        first = [Entry(record(tx, thu)) for tx in (noted, tagged, plain)]
        assert await store_calls(conn, t.id, first) == ["stored"] * 3
    for tx, change in ((noted, {"note": "Khách VIP"}), (tagged, {"tag": ["Gọi lại"]})):
        answer = await client.post(
            f"/api/call_transaction/change/{tx}",
            json={"user_uuid": "601", **change},
            headers=t.headers,
        )
        assert answer.status_code == 200, answer.text
    async with writing(engine) as conn:
        second = [Entry(record(tx, anh, thu)) for tx in (noted, tagged, plain)]
        assert await store_calls(conn, t.id, second) == ["updated"] * 3
    shown = {tx: (await detail(client, t, tx))["user"] for tx in (noted, tagged, plain)}
    kept = {
        tx: [(u["full_name"], u["note"], u["tag"]) for u in users] for tx, users in shown.items()
    }
    assert kept == {
        noted: [("Anh", "", []), ("Thu", "Khách VIP", [])],
        tagged: [("Anh", "", []), ("Thu", "", [{"name": "Gọi lại"}])],
        plain: [("Anh", "", []), ("Thu", "", [])],
    }
