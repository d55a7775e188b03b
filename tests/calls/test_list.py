"""The list endpoint: every filter, array spellings, keyword folding, paging and order."""

from __future__ import annotations

import math

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import DAY_MS, Tenant, add_agent, add_call, make_tenant, now_ms

LIST = "/api/call_transaction/list"


async def _ids(client: httpx.AsyncClient, tenant: Tenant, **params: object) -> set[str]:
    base = {"from_date": now_ms() - 20 * DAY_MS, "to_date": now_ms(), "size": 50}
    r = await client.get(LIST, params={**base, **params}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    return {item["transaction_id"] for item in r.json()["payload"]["items"]}


@pytest.fixture(scope="module")
async def scene(engine: AsyncEngine) -> dict[str, object]:
    """A small tenant whose calls each differ in one filtered field."""
    t = await make_tenant(engine, "scene")
    tien = await add_agent(engine, t, "Trần Văn Tiến", "101", "tien.tran@acme.vn")
    dang = await add_agent(engine, t, "Đặng Thị Hương", "102", "huong.dang@acme.vn")
    base = now_ms() - 2 * DAY_MS
    calls = {
        "in_ans": await add_call(
            engine,
            t,
            created_date=base,
            agents_on_call=[tien],
            customer_name="Nguyễn Văn An",
            source_number="0912345678",
            destination_number="19001234",
            queue_destination="8001",
        ),
        "in_cancel": await add_call(
            engine,
            t,
            created_date=base + 1,
            disposition="cancelled",
            source_number="84987654321",
            destination_number="02873001234",
            note="Khách gọi lại sau",
            tags=["gọi lại sau"],
        ),
        "out": await add_call(
            engine,
            t,
            created_date=base + 2,
            direction="outbound",
            agents_on_call=[dang],
            source_number="842873001234",
            destination_number="0356789012",
            is_auto_call=True,
        ),
        "local": await add_call(
            engine,
            t,
            created_date=base + 3,
            direction="local",
            agents_on_call=[tien, dang],
            source_number="101",
            destination_number="102",
            hotline=None,
        ),
    }
    return {"tenant": t, "tien": tien, "dang": dang, "calls": calls}


def _c(scene: dict[str, object], *names: str) -> set[str]:
    calls = scene["calls"]
    assert isinstance(calls, dict)
    return {calls[n] for n in names}


def _t(scene: dict[str, object]) -> Tenant:
    tenant = scene["tenant"]
    assert isinstance(tenant, Tenant)
    return tenant


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ("in_ans", "in_cancel", "out", "local")),
        ({"direction": "inbound"}, ("in_ans", "in_cancel")),
        ({"direction": "inbound,local"}, ("in_ans", "in_cancel", "local")),
        ({"direction[]": ["outbound", "local"]}, ("out", "local")),
        ({"direction": ["outbound", "local"]}, ("out", "local")),
        ({"disposition": "cancelled"}, ("in_cancel",)),
        ({"disposition": "answered"}, ("in_ans", "out", "local")),
        ({"agents": "tien.tran@acme.vn"}, ("in_ans", "local")),
        ({"agents[]": ["HUONG.DANG@acme.vn"]}, ("out", "local")),
        ({"user_uuids": "NV101"}, ("in_ans", "local")),
        ({"user_uuids": "102"}, ("out", "local")),
        ({"sip_user": "102"}, ("out",)),
        ({"is_auto_call": "true"}, ("out",)),
        ({"is_auto_call": "false"}, ("in_ans", "in_cancel", "local")),
        ({"sip_numbers": "+842873001234"}, ("in_cancel", "out")),
        ({"sip_numbers[]": "19001234"}, ("in_ans",)),
        ({"queue_destination": "8001"}, ("in_ans",)),
        (
            {"direction": "inbound", "disposition": "answered", "agents": "tien.tran@acme.vn"},
            ("in_ans",),
        ),
        ({"direction": "outbound", "is_auto_call": "false"}, ()),
    ],
)
async def test_filters(
    client: httpx.AsyncClient,
    scene: dict[str, object],
    params: dict[str, object],
    expected: tuple[str, ...],
) -> None:
    assert await _ids(client, _t(scene), **params) == _c(scene, *expected)


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [
        ("tran van tien", ("in_ans", "local")),
        ("TIEN", ("in_ans", "local")),
        ("tiến", ("in_ans", "local")),
        ("dang", ("out", "local")),
        ("Đặng", ("out", "local")),
        ("hương đặng", ("out", "local")),
        ("nguyen van an", ("in_ans",)),
        ("goi lai", ("in_cancel",)),
        ("GỌI LẠI SAU", ("in_cancel",)),
        ("0912345678", ("in_ans",)),
        ("84912345678", ("in_ans",)),
        ("+84 912 345 678", ("in_ans",)),
        ("345678", ("in_ans",)),
        ("0987654321", ("in_cancel",)),
        ("+84987654", ("in_cancel",)),
        ("0356", ("out",)),
        ("nobody-here", ()),
        ("100%", ()),
        ("_", ()),
    ],
)
async def test_keyword(
    client: httpx.AsyncClient, scene: dict[str, object], keyword: str, expected: tuple[str, ...]
) -> None:
    assert await _ids(client, _t(scene), keyword=keyword) == _c(scene, *expected)


async def test_keyword_matches_a_transaction_id_prefix(
    client: httpx.AsyncClient, scene: dict[str, object]
) -> None:
    (tx,) = _c(scene, "out")
    assert await _ids(client, _t(scene), keyword=tx[:13]) == {tx}


async def test_window_is_inclusive_on_both_ends(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(engine)
    at = now_ms() - DAY_MS
    tx = await add_call(engine, t, created_date=at)
    assert await _ids(client, t, from_date=at, to_date=at) == {tx}
    assert await _ids(client, t, from_date=at + 1, to_date=at + 5) == set()
    assert await _ids(client, t, from_date=at - 5, to_date=at - 1) == set()


async def test_paging_follows_the_source_example(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(engine)
    base = now_ms() - 3 * DAY_MS
    for i in range(7):
        await add_call(engine, t, created_date=base + (i // 2))  # ties on created_date
    params = {"from_date": base - 1, "to_date": now_ms()}
    seen: list[str] = []
    for page in (1, 2, 3, 4):
        r = await client.get(LIST, params={**params, "page": page, "size": 2}, headers=t.headers)
        p = r.json()["payload"]
        assert (p["page_number"], p["page_size"], p["total_items"], p["total_pages"]) == (
            page,
            2,
            7,
            4,
        )
        assert p["has_next"] is (page < 4)
        assert p["next_page"] == (page + 1 if page < 4 else page)
        assert p["has_previous"] is (page > 1)
        assert p["previous_page"] == max(page - 1, 1)
        seen += [i["transaction_id"] for i in p["items"]]
        keys = [(i["created_date"], i["transaction_id"]) for i in p["items"]]
        assert keys == sorted(keys, reverse=True)
    assert len(seen) == len(set(seen)) == 7  # stable order: nothing repeated, nothing skipped

    past = (
        await client.get(LIST, params={**params, "page": 9, "size": 2}, headers=t.headers)
    ).json()["payload"]
    assert past["items"] == [] and past["total_items"] == 7 and past["has_next"] is False


async def test_source_example_numbers() -> None:
    from callhistory.calls.params import Paging, page_info

    info = page_info(Paging(1, 50), 943)
    assert info == {
        "page_number": 1,
        "page_size": 50,
        "total_items": 943,
        "total_pages": 19,
        "has_next": True,
        "next_page": 2,
        "has_previous": False,
        "previous_page": 1,
    }
    assert math.ceil(943 / 50) == 19


async def test_empty_window(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    t = await make_tenant(engine)
    r = await client.get(LIST, params={"from_date": 0, "to_date": 1000}, headers=t.headers)
    p = r.json()["payload"]
    assert p["items"] == [] and p["total_items"] == 0 and p["total_pages"] == 0
    assert (p["has_next"], p["next_page"], p["has_previous"], p["previous_page"]) == (
        False,
        1,
        False,
        1,
    )


async def test_size_is_clamped_to_fifty(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    t = await make_tenant(engine)
    base = now_ms() - DAY_MS
    for i in range(55):
        await add_call(engine, t, created_date=base + i)
    r = await client.get(
        LIST, params={"from_date": base, "to_date": now_ms(), "size": 500}, headers=t.headers
    )
    p = r.json()["payload"]
    assert p["page_size"] == 50 and len(p["items"]) == 50 and p["total_pages"] == 2


async def test_list_item_has_the_source_shape(
    client: httpx.AsyncClient, scene: dict[str, object]
) -> None:
    (tx,) = _c(scene, "in_ans")
    items = (
        await client.get(
            LIST,
            params={"from_date": now_ms() - 20 * DAY_MS, "to_date": now_ms(), "keyword": tx},
            headers=_t(scene).headers,
        )
    ).json()["payload"]["items"]
    assert set(items[0]) == {
        "transaction_id",
        "direction",
        "source_number",
        "destination_number",
        "disposition",
        "bill_sec",
        "record_seconds",
        "time_start_to_answer",
        "recording_file",
        "sip_user",
        "duration",
        "provider",
        "note",
        "tag",
        "call_out_price",
        "created_date",
        "last_updated_date",
        "is_voicemail",
        "recording_file_voicemail",
        "user",
        "create_by",
        "internal_destination",
        "evaluations",
        "total_evaluate",
        "customer",
        "is_have_forward_out",
        "bill_sec_forward_out",
    }
    assert items[0]["user"][0] == {
        "full_name": "Trần Văn Tiến",
        "full_name_unsigned": "Tran Van Tien",
        "note": "",
        "tag": [],
    }
    assert items[0]["customer"] == {
        "full_name": "Nguyễn Văn An",
        "full_name_unsigned": "Nguyen Van An",
    }
