"""Criteria: the contract's list, and creating, changing, deactivating and ordering them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.evaluations.support import CRITERIA, CRITERIA_LIST, make_criterion, problem
from tests.factories import make_tenant

ORDER = f"{CRITERIA}/order"


async def _names(client: httpx.AsyncClient, headers: dict[str, str], **query: str) -> list[str]:
    r = await client.get(CRITERIA_LIST, params=query, headers=headers)
    assert r.status_code == 200, r.text
    return [c["name"] for c in r.json()["payload"]["items"]]


async def test_create_answers_the_contract_shape_and_lists_in_order(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(engine)
    assert await _names(client, t.headers) == []
    first = await make_criterion(client, t, "  Chào   khách hàng ", 5)
    assert first == {
        "id": first["id"],
        "name": "Chào khách hàng",  # trimmed, inner spaces made one
        "description": "",
        "max_score": 5,
        "weight": 1,
        "active": True,
    }
    assert len(first["id"]) == 24
    second = await make_criterion(
        client, t, "Xác minh danh tính", 10, weight=2.5, description="Hỏi ngày sinh"
    )
    assert (second["weight"], second["description"]) == (2.5, "Hỏi ngày sinh")
    r = await client.get(CRITERIA_LIST, headers=t.headers)
    assert r.json()["payload"] == {"items": [first, second]}


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"max_score": 5}, "name", "required"),
        ({"name": "x"}, "max_score", "required"),
        ({"name": 5, "max_score": 5}, "name", "must_be_a_string"),
        ({"name": "   ", "max_score": 5}, "name", "empty"),
        ({"name": "x" * 201, "max_score": 5}, "name", "too_long"),
        ({"name": "x", "max_score": 5, "description": 1}, "description", "must_be_a_string"),
        ({"name": "x", "max_score": 5, "description": "d" * 2001}, "description", "too_long"),
        ({"name": "x", "max_score": 0}, "max_score", "out_of_range"),
        ({"name": "x", "max_score": 1001}, "max_score", "out_of_range"),
        ({"name": "x", "max_score": 2.5}, "max_score", "must_be_an_integer"),
        ({"name": "x", "max_score": "5"}, "max_score", "must_be_an_integer"),
        ({"name": "x", "max_score": True}, "max_score", "must_be_an_integer"),
        ({"name": "x", "max_score": 5, "weight": 0}, "weight", "out_of_range"),
        ({"name": "x", "max_score": 5, "weight": -1}, "weight", "out_of_range"),
        ({"name": "x", "max_score": 5, "weight": 1001}, "weight", "out_of_range"),
        ({"name": "x", "max_score": 5, "weight": "2"}, "weight", "must_be_a_number"),
        ({"name": "x", "max_score": 5, "active": "yes"}, "active", "must_be_true_or_false"),
    ],
)
async def test_create_validation(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    body: dict[str, Any],
    field: str,
    code: str,
) -> None:
    t = await make_tenant(engine)
    r = await client.post(CRITERIA, json=body, headers=t.headers)
    assert problem(r) == (400, "validation_error", [{"field": field, "code": code}])
    assert await _names(client, t.headers) == []


async def test_bodies_that_are_not_objects(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    t = await make_tenant(engine)
    empty = await client.post(CRITERIA, content=b"", headers=t.headers)
    assert problem(empty)[:2] == (400, "request_body_required")
    listed = await client.post(CRITERIA, json=[1], headers=t.headers)
    assert problem(listed)[:2] == (400, "body_must_be_an_object")
    nothing = await client.put(f"{CRITERIA}/{'a' * 24}", json={}, headers=t.headers)
    assert problem(nothing) == (
        400,
        "validation_error",
        [{"field": "body", "code": "nothing_to_change"}],
    )


async def test_names_are_unique_among_active_criteria_compared_folded(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(engine)
    greet = await make_criterion(client, t, "Chào khách")
    other = await make_criterion(client, t, "Lắng nghe")
    again = await client.post(
        CRITERIA, json={"name": "CHAO  khach", "max_score": 3}, headers=t.headers
    )
    assert problem(again) == (409, "criteria_name_exists", None)
    clash = await client.put(
        f"{CRITERIA}/{other['id']}", json={"name": "chào KHÁCH"}, headers=t.headers
    )
    assert problem(clash)[:2] == (409, "criteria_name_exists")
    # its own name, typed differently, is no clash
    own = await client.put(
        f"{CRITERIA}/{greet['id']}", json={"name": "Chào Khách"}, headers=t.headers
    )
    assert own.status_code == 200 and own.json()["payload"]["name"] == "Chào Khách"
    # a deactivated criterion's name is free again, and reactivating it then clashes
    assert (await client.delete(f"{CRITERIA}/{greet['id']}", headers=t.headers)).status_code == 200
    await make_criterion(client, t, "chao khach")
    back = await client.put(f"{CRITERIA}/{greet['id']}", json={"active": True}, headers=t.headers)
    assert problem(back)[:2] == (409, "criteria_name_exists")


async def test_update_changes_only_the_given_fields(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(engine)
    c = await make_criterion(client, t, "Kết thúc", 5, description="Chào tạm biệt", weight=2)
    r = await client.put(
        f"{CRITERIA}/{c['id']}", json={"max_score": 10, "weight": 0.5}, headers=t.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["payload"] == {**c, "max_score": 10, "weight": 0.5}
    listed = await client.get(CRITERIA_LIST, headers=t.headers)
    assert listed.json()["payload"]["items"] == [r.json()["payload"]]


async def test_delete_deactivates_and_reactivation_puts_it_last(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(engine)
    a = await make_criterion(client, t, "A")
    await make_criterion(client, t, "B")
    await make_criterion(client, t, "C")
    gone = await client.delete(f"{CRITERIA}/{a['id']}", headers=t.headers)
    assert gone.status_code == 200 and gone.json()["payload"] == {**a, "active": False}
    again = await client.delete(f"{CRITERIA}/{a['id']}", headers=t.headers)
    assert again.status_code == 200  # deactivating twice is no error
    assert await _names(client, t.headers) == ["B", "C"]
    assert await _names(client, t.headers, include_inactive="true") == ["B", "C", "A"]
    back = await client.put(f"{CRITERIA}/{a['id']}", json={"active": True}, headers=t.headers)
    assert back.json()["payload"]["active"] is True
    assert await _names(client, t.headers) == ["B", "C", "A"]
    bad = await client.get(CRITERIA_LIST, params={"include_inactive": "maybe"}, headers=t.headers)
    assert problem(bad) == (
        400,
        "validation_error",
        [{"field": "include_inactive", "code": "must_be_true_or_false"}],
    )


async def test_order_puts_the_given_criteria_first(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(engine)
    a, b, c, d = [await make_criterion(client, t, name) for name in "ABCD"]
    r = await client.put(ORDER, json={"ids": [c["id"], a["id"]]}, headers=t.headers)
    assert r.status_code == 200, r.text
    assert [i["name"] for i in r.json()["payload"]["items"]] == ["C", "A", "B", "D"]
    full = [d["id"], c["id"], b["id"], a["id"]]
    r = await client.put(ORDER, json={"ids": full}, headers=t.headers)
    assert await _names(client, t.headers) == ["D", "C", "B", "A"]
    new = await make_criterion(client, t, "E")  # new ones go last
    assert (await _names(client, t.headers))[-1] == new["name"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "required"),
        ({"ids": "x"}, "must_be_a_list_of_strings"),
        ({"ids": [1]}, "must_be_a_list_of_strings"),
        ({"ids": ["a", "a"]}, "duplicate_id"),
        ({"ids": ["a"] * 1001}, "too_many_items"),
    ],
)
async def test_order_validation(
    engine: AsyncEngine, client: httpx.AsyncClient, body: dict[str, Any], code: str
) -> None:
    t = await make_tenant(engine)
    r = await client.put(ORDER, json=body, headers=t.headers)
    assert problem(r) == (400, "validation_error", [{"field": "ids", "code": code}])


async def test_too_many_active_criteria(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    t = await make_tenant(engine)
    made = [await make_criterion(client, t, f"Tiêu chí {i}") for i in range(100)]
    over = await client.post(CRITERIA, json={"name": "one more", "max_score": 5}, headers=t.headers)
    assert problem(over) == (409, "too_many_criteria", None)
    await client.delete(f"{CRITERIA}/{made[0]['id']}", headers=t.headers)
    await make_criterion(client, t, "one more")
    back = await client.put(f"{CRITERIA}/{made[0]['id']}", json={"active": True}, headers=t.headers)
    assert problem(back)[:2] == (409, "too_many_criteria")


async def test_another_tenants_criteria_are_not_found(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    owner, other = await make_tenant(engine), await make_tenant(engine)
    c = await make_criterion(client, owner, "Riêng")
    url = f"{CRITERIA}/{c['id']}"
    for r in (
        await client.put(url, json={"name": "x"}, headers=other.headers),
        await client.delete(url, headers=other.headers),
        await client.put(ORDER, json={"ids": [c["id"]]}, headers=other.headers),
        await client.put(f"{CRITERIA}/no-such-id", json={"name": "x"}, headers=owner.headers),
    ):
        assert problem(r) == (404, "criteria_not_found", None)
    assert await _names(client, other.headers, include_inactive="true") == []
    assert await _names(client, owner.headers) == ["Riêng"]


async def test_criteria_need_credentials(client: httpx.AsyncClient) -> None:
    r = await client.get(CRITERIA_LIST)
    assert problem(r) == (401, "api_key_is_required", None)
