"""The tag catalogue: list with counts, create, rename and delete, seen through every answer."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import Agent, Tenant, add_agent, add_call, make_tenant, window

TAGS = "/api/tags"
LIST = "/api/call_transaction/list"
DETAIL = "/api/call_transaction/detail/{}"
CHANGE = "/api/call_transaction/change/{}"
SEARCH = "/api/call_transaction/search"


async def _catalogue(client: httpx.AsyncClient, t: Tenant, **query: Any) -> dict[str, Any]:
    r = await client.get(TAGS, params=query, headers=t.headers)
    assert r.status_code == 200, r.text
    payload: dict[str, Any] = r.json()["payload"]
    return payload


async def _by_name(client: httpx.AsyncClient, t: Tenant) -> dict[str, dict[str, Any]]:
    return {tag["name"]: tag for tag in (await _catalogue(client, t))["items"]}


async def _keyword(client: httpx.AsyncClient, t: Tenant, keyword: str) -> set[str]:
    r = await client.get(LIST, params={**window(), "keyword": keyword}, headers=t.headers)
    return {i["transaction_id"] for i in r.json()["payload"]["items"]}


async def _search(client: httpx.AsyncClient, t: Tenant, agent: Agent, **body: Any) -> list[Any]:
    r = await client.post(
        SEARCH, json={**window(), "user_uuids": [agent.sip_user], **body}, headers=t.headers
    )
    assert r.status_code == 200, r.text
    items: list[Any] = r.json()["payload"]["items"]
    return items


async def _tagged_world(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> tuple[Tenant, Agent, str, str]:
    """Two calls tagged 'Hài lòng': one as the call's tag, one as its agent's own."""
    t = await make_tenant(engine)
    agent = await add_agent(engine, t, "Hồ Văn Nam", "501")
    own = await add_call(engine, t, agents_on_call=[agent], tags=["Hài lòng", "VIP"])
    agents_tag = await add_call(engine, t, agents_on_call=[agent])
    r = await client.post(
        CHANGE.format(agents_tag),
        json={"user_uuid": agent.user_uuid, "tag": ["hai long"]},
        headers=t.headers,
    )
    assert r.status_code == 200, r.text
    return t, agent, own, agents_tag


async def test_list_counts_the_calls_carrying_each_tag(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t, _, own, _ = await _tagged_world(engine, client)
    # the same tag on the call and on its agent counts the call once
    await client.post(
        CHANGE.format(own), json={"user_uuid": "501", "tag": ["VIP"]}, headers=t.headers
    )
    page = await _catalogue(client, t)
    assert [(i["name"], i["count"]) for i in page["items"]] == [("Hài lòng", 2), ("VIP", 1)]
    assert all(len(i["id"]) == 24 and set(i) == {"id", "name", "count"} for i in page["items"])
    assert page["total_items"] == 2 and page["page_number"] == 1
    assert [i["name"] for i in (await _catalogue(client, t, keyword="LONG"))["items"]] == [
        "Hài lòng"
    ]
    second = await _catalogue(client, t, size=1, page=2)
    assert [i["name"] for i in second["items"]] == ["VIP"]
    assert (second["total_pages"], second["has_previous"]) == (2, True)


async def test_create_trims_keeps_the_spelling_and_refuses_a_folded_duplicate(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(engine)
    r = await client.post(TAGS, json={"name": "  Gọi   lại  SAU "}, headers=t.headers)
    assert r.status_code == 201, r.text
    assert r.json()["payload"] == {
        "id": r.json()["payload"]["id"],
        "name": "Gọi lại SAU",
        "count": 0,
    }
    again = await client.post(TAGS, json={"name": "goi lai sau"}, headers=t.headers)
    assert (again.status_code, again.json()["message"]) == (409, "tag_exists")
    # change finds it under any spelling
    tx = await add_call(engine, t)
    changed = await client.post(CHANGE.format(tx), json={"tag": ["GỌI LẠI sau"]}, headers=t.headers)
    assert changed.json()["payload"]["tag"] == ["Gọi lại SAU"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "required"),
        ({"name": 3}, "must_be_a_string"),
        ({"name": "   "}, "empty"),
        ({"name": "x" * 101}, "too_long"),
    ],
)
async def test_name_validation(
    engine: AsyncEngine, client: httpx.AsyncClient, body: dict[str, Any], code: str
) -> None:
    t = await make_tenant(engine)
    tag = (await client.post(TAGS, json={"name": "ok"}, headers=t.headers)).json()["payload"]
    for r in (
        await client.post(TAGS, json=body, headers=t.headers),
        await client.put(f"{TAGS}/{tag['id']}", json=body, headers=t.headers),
    ):
        assert r.status_code == 400
        assert r.json()["message"] == "validation_error"
        assert r.json()["payload"] == [{"field": "name", "code": code}]


async def test_rename_shows_everywhere_and_is_searchable(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t, agent, own, agents_tag = await _tagged_world(engine, client)
    tag = (await _by_name(client, t))["Hài lòng"]
    before = (await client.get(DETAIL.format(own), headers=t.headers)).json()["payload"]
    r = await client.put(f"{TAGS}/{tag['id']}", json={"name": "Rất  hài lòng"}, headers=t.headers)
    assert r.status_code == 200, r.text
    assert r.json()["payload"] == {"id": tag["id"], "name": "Rất hài lòng", "count": 2}

    detail = (await client.get(DETAIL.format(own), headers=t.headers)).json()["payload"]
    assert detail["tag"] == ["Rất hài lòng", "VIP"]  # its place among the call's tags kept
    assert detail["last_updated_date"] > before["last_updated_date"]
    other = (await client.get(DETAIL.format(agents_tag), headers=t.headers)).json()["payload"]
    assert other["user"][0]["tag"] == [{"name": "Rất hài lòng"}]
    listed = await client.get(LIST, params=window(), headers=t.headers)
    items = {i["transaction_id"]: i for i in listed.json()["payload"]["items"]}
    assert items[own]["tag"] == ["Rất hài lòng", "VIP"]
    assert items[agents_tag]["user"][0]["tag"] == [{"name": "Rất hài lòng"}]
    searched = {i["transaction_id"]: i for i in await _search(client, t, agent, tags=[tag["id"]])}
    assert set(searched) == {own, agents_tag}
    assert searched[own]["tag"] == ["Rất hài lòng", "VIP"]
    assert searched[agents_tag]["user"][0]["tags_view"] == [
        {"_id": tag["id"], "name": "Rất hài lòng"}
    ]

    assert await _keyword(client, t, "rat hai long") == {own, agents_tag}
    assert await _keyword(client, t, "rất") == {own, agents_tag}
    # a case-only rename of itself is allowed; another tag's name is not
    same = await client.put(f"{TAGS}/{tag['id']}", json={"name": "RẤT hài lòng"}, headers=t.headers)
    assert same.status_code == 200
    clash = await client.put(f"{TAGS}/{tag['id']}", json={"name": "vip"}, headers=t.headers)
    assert (clash.status_code, clash.json()["message"]) == (409, "tag_exists")


async def test_delete_takes_the_tag_off_every_call(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t, agent, own, agents_tag = await _tagged_world(engine, client)
    tag = (await _by_name(client, t))["Hài lòng"]
    assert await _keyword(client, t, "hai long") == {own, agents_tag}
    r = await client.delete(f"{TAGS}/{tag['id']}", headers=t.headers)
    assert r.status_code == 200, r.text
    assert r.json()["payload"] == {"id": tag["id"], "name": "Hài lòng", "count": 2}

    assert (await client.get(DETAIL.format(own), headers=t.headers)).json()["payload"]["tag"] == [
        "VIP"
    ]
    other = (await client.get(DETAIL.format(agents_tag), headers=t.headers)).json()["payload"]
    assert other["user"][0]["tag"] == []
    listed = await client.get(LIST, params=window(), headers=t.headers)
    assert all("Hài lòng" not in i["tag"] for i in listed.json()["payload"]["items"])
    assert await _search(client, t, agent, tags=[tag["id"]]) == []
    everything = await _search(client, t, agent)
    assert all(u["tags_view"] == [] for i in everything for u in i["user"])
    assert await _keyword(client, t, "hai long") == set()
    assert await _keyword(client, t, "vip") == {own}  # the other tags still found
    assert list(await _by_name(client, t)) == ["VIP"]
    gone = await client.delete(f"{TAGS}/{tag['id']}", headers=t.headers)
    assert (gone.status_code, gone.json()["message"]) == (404, "tag_not_found")
    # the name can be used again, as a new tag
    again = await client.post(CHANGE.format(own), json={"tag": ["Hài lòng"]}, headers=t.headers)
    assert again.json()["payload"]["tag"] == ["Hài lòng"]


async def test_another_tenants_tags_are_not_found(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t, _, _, _ = await _tagged_world(engine, client)
    stranger = await make_tenant(engine)
    stranger_agent = await add_agent(engine, stranger, "Người lạ", "501")
    await add_call(engine, stranger, agents_on_call=[stranger_agent], tags=["Hài lòng"])
    tag = (await _by_name(client, t))["Hài lòng"]
    for r in (
        await client.put(f"{TAGS}/{tag['id']}", json={"name": "x"}, headers=stranger.headers),
        await client.delete(f"{TAGS}/{tag['id']}", headers=stranger.headers),
        await client.delete(f"{TAGS}/no-such-tag", headers=t.headers),
    ):
        assert (r.status_code, r.json()["message"], r.json()["payload"]) == (
            404,
            "tag_not_found",
            None,
        )
    # each tenant sees its own catalogue and its own counts; a foreign id filters nothing in
    theirs = await _by_name(client, stranger)
    assert list(theirs) == ["Hài lòng"] and theirs["Hài lòng"]["id"] != tag["id"]
    assert theirs["Hài lòng"]["count"] == 1
    assert await _search(client, stranger, stranger_agent, tags=[tag["id"]]) == []
    assert (await _by_name(client, t))["Hài lòng"]["count"] == 2
