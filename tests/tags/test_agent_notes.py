"""Agents' own notes and tags on a call: set by `change` with a user_uuid, shown and searched."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import Agent, Tenant, add_agent, add_call, make_tenant, window

LIST = "/api/call_transaction/list"
DETAIL = "/api/call_transaction/detail/{}"
CHANGE = "/api/call_transaction/change/{}"
SEARCH = "/api/call_transaction/search"


async def _change(client: httpx.AsyncClient, t: Tenant, tx: str, **body: Any) -> dict[str, Any]:
    r = await client.post(CHANGE.format(tx), json=body, headers=t.headers)
    assert r.status_code == 200, r.text
    payload: dict[str, Any] = r.json()["payload"]
    return payload


async def _found(client: httpx.AsyncClient, t: Tenant, keyword: str) -> set[str]:
    r = await client.get(LIST, params={**window(), "keyword": keyword}, headers=t.headers)
    return {i["transaction_id"] for i in r.json()["payload"]["items"]}


async def _two_agents(engine: AsyncEngine) -> tuple[Tenant, Agent, Agent, str]:
    t = await make_tenant(engine)
    first = await add_agent(engine, t, "Phan Thị Thu", "601", email="thu@example.vn")
    second = await add_agent(engine, t, "Vũ Đức Anh", "602")
    tx = await add_call(engine, t, agents_on_call=[first, second], note="của cuộc gọi")
    return t, first, second, tx


async def test_each_agent_keeps_their_own_note_and_tags(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t, first, _, tx = await _two_agents(engine)
    # by user id, by extension, by email (any case): each sets only that agent's part
    await _change(client, t, tx, user_uuid=first.user_uuid, note="Khách đòi hoàn tiền")
    await _change(client, t, tx, user_uuid="602", tag=["Đã xử lý", "cần gọi lại"])
    p = await _change(client, t, tx, user_uuid="THU@example.vn", tag=["Khiếu nại"])
    assert (p["note"], p["tag"]) == ("của cuộc gọi", [])
    assert [(u["full_name"], u["note"], u["tag"]) for u in p["user"]] == [
        ("Phan Thị Thu", "Khách đòi hoàn tiền", [{"name": "Khiếu nại"}]),
        ("Vũ Đức Anh", "", [{"name": "Đã xử lý"}, {"name": "cần gọi lại"}]),
    ]
    # without user_uuid: the call's own, the agents' untouched
    p = await _change(client, t, tx, note="tổng kết", tag=["VIP"])
    assert (p["note"], p["tag"]) == ("tổng kết", ["VIP"])
    assert p["user"][0]["note"] == "Khách đòi hoàn tiền"
    assert p["user"][1]["tag"] == [{"name": "Đã xử lý"}, {"name": "cần gọi lại"}]
    assert p == (await client.get(DETAIL.format(tx), headers=t.headers)).json()["payload"]
    listed = await client.get(LIST, params=window(), headers=t.headers)
    assert listed.json()["payload"]["items"][0]["user"] == p["user"]


async def test_agents_notes_and_tags_are_found_by_keyword(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t, first, second, tx = await _two_agents(engine)
    other = await add_call(engine, t, agents_on_call=[first])
    await _change(client, t, tx, user_uuid=first.user_uuid, note="Khách đòi hoàn tiền")
    await _change(client, t, tx, user_uuid=second.sip_user, tag=["Đã xử lý"])
    assert await _found(client, t, "hoan tien") == {tx}
    assert await _found(client, t, "DA XU LY") == {tx}
    assert await _found(client, t, "đã xử") == {tx}
    # replacing an agent's note and tags replaces what keyword finds
    await _change(client, t, tx, user_uuid=first.user_uuid, note="")
    await _change(client, t, tx, user_uuid=second.sip_user, tag=[])
    assert await _found(client, t, "hoan tien") == set()
    assert await _found(client, t, "da xu ly") == set()
    assert other not in await _found(client, t, "của")


async def test_search_shows_each_agents_tags_with_ids_and_filters_by_them(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t, first, second, tx = await _two_agents(engine)
    untagged = await add_call(engine, t, agents_on_call=[second])
    p = await _change(client, t, tx, user_uuid=first.user_uuid, note="ghi chú", tag=["Chờ duyệt"])
    assert p["user"][0]["note"] == "ghi chú"
    r = await client.post(
        SEARCH, json={**window(), "user_uuids": [second.sip_user]}, headers=t.headers
    )
    items = {i["transaction_id"]: i for i in r.json()["payload"]["items"]}
    assert set(items) == {tx, untagged}
    agent = items[tx]["user"][0]
    assert agent["_id"] == first.id and agent["note"] == "ghi chú"
    assert agent["note_created_date"] >= p["last_updated_date"] - 1000
    (tag,) = agent["tags_view"]
    assert tag["name"] == "Chờ duyệt" and len(tag["_id"]) == 24
    assert items[tx]["user"][1]["tags_view"] == [] and items[tx]["user"][1]["note"] == ""
    by_tag = await client.post(
        SEARCH,
        json={**window(), "user_uuids": [second.sip_user], "tags": [tag["_id"]]},
        headers=t.headers,
    )
    assert [i["transaction_id"] for i in by_tag.json()["payload"]["items"]] == [tx]
    # a cleared note has no creation date: "" and 0, never null (docs/api.md)
    await _change(client, t, tx, user_uuid=first.user_uuid, note=None)
    r = await client.post(
        SEARCH, json={**window(), "user_uuids": [first.sip_user]}, headers=t.headers
    )
    cleared = r.json()["payload"]["items"][0]["user"][0]
    assert (cleared["note"], cleared["note_created_date"]) == ("", 0)


async def test_an_agent_on_the_call_twice_gets_the_first_place(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(engine)
    agent = await add_agent(engine, t, "Quay Lại", "603")
    helper = await add_agent(engine, t, "Chuyển Tiếp", "604")
    tx = await add_call(engine, t, agents_on_call=[agent, helper, agent])
    p = await _change(client, t, tx, user_uuid="603", note="lần đầu")
    assert [u["note"] for u in p["user"]] == ["lần đầu", "", ""]


async def test_an_agent_not_on_the_call_is_refused(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t, _, _, tx = await _two_agents(engine)
    elsewhere = await add_agent(engine, t, "Không Liên Quan", "699")
    r = await client.post(
        CHANGE.format(tx), json={"user_uuid": elsewhere.user_uuid, "note": "x"}, headers=t.headers
    )
    assert r.status_code == 400
    assert r.json()["payload"] == [{"field": "user_uuid", "code": "user_not_on_call"}]
