"""A keyword's total: exact up to the cap, then an estimate flagged `total_is_estimate`."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.calls import queries
from callhistory.calls.params import CallFilter, Paging
from tests.factories import DAY_MS, Tenant, add_call, make_tenant, now_ms

LIST = "/api/call_transaction/list"
CAP = 5  # the cap, lowered so a handful of calls cross it


@pytest.fixture(scope="module")
async def tenant(engine: AsyncEngine) -> Tenant:
    """Eight calls of one customer name, three of another."""
    t = await make_tenant(engine, "keyword-cap")
    base = now_ms() - DAY_MS
    for i in range(8):
        await add_call(engine, t, created_date=base + i, customer_name="Lê Thị Hoa")
    for i in range(3):
        await add_call(engine, t, created_date=base + 10 + i, customer_name="Phạm Minh Tuấn")
    return t


@pytest.fixture(autouse=True)
def lowered_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "KEYWORD_COUNT_CAP", CAP)


async def _page(client: httpx.AsyncClient, tenant: Tenant, **params: object) -> dict[str, object]:
    window = {"from_date": now_ms() - 3 * DAY_MS, "to_date": now_ms(), "size": 2}
    r = await client.get(LIST, params={**window, **params}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    payload = r.json()["payload"]
    assert isinstance(payload, dict)
    return payload


async def test_under_the_cap_the_total_is_exact_and_unflagged(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    page = await _page(client, tenant, keyword="tuan")
    assert (page["total_items"], page["total_pages"]) == (3, 2)
    assert "total_is_estimate" not in page  # strict clients (Jackson) never see the field


async def test_past_the_cap_the_total_is_an_estimate_of_at_least_the_cap(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    page = await _page(client, tenant, keyword="hoa")
    assert page["total_is_estimate"] is True
    total = page["total_items"]
    assert isinstance(total, int) and total >= CAP
    assert page["total_pages"] == -(-total // 2)
    assert page["has_next"] is True
    assert len(page["items"]) == 2  # the page itself is exact: the newest two matches
    second = await _page(client, tenant, keyword="hoa", page=4)
    assert len(second["items"]) == 2  # pages past the cap's still answer (8 matches)


async def test_without_a_keyword_the_total_stays_exact(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    page = await _page(client, tenant)
    assert page["total_items"] == 11
    assert "total_is_estimate" not in page


async def test_exports_count_every_match(engine: AsyncEngine, tenant: Tenant) -> None:
    """`count` (exports, their progress) is exact whatever the cap."""
    f = CallFilter(from_ms=now_ms() - 3 * DAY_MS, to_ms=now_ms(), keyword="hoa")
    async with engine.connect() as conn:
        assert await queries.count(conn, tenant.id, f) == 8
        total = await queries.page_total(conn, tenant.id, f)
    assert total.is_estimate and total.items >= CAP


async def test_another_tenants_matches_are_not_counted(
    client: httpx.AsyncClient, engine: AsyncEngine, tenant: Tenant
) -> None:
    other = await make_tenant(engine, "keyword-cap-other")
    page = await _page(client, other, keyword="hoa")
    assert (page["total_items"], page["items"]) == (0, [])
    assert "total_is_estimate" not in page


async def test_pages_under_the_cap_are_cut_in_the_list_order(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under the cap the page comes from the counted keys; it equals page()'s own, ties
    of the same millisecond included."""
    monkeypatch.setattr(queries, "KEYWORD_COUNT_CAP", 100)
    tenant = await make_tenant(engine, "keyword-order")
    base = now_ms() - DAY_MS
    for i in range(11):  # five pairs in the same millisecond, one alone
        await add_call(engine, tenant, created_date=base + i // 2, customer_name="Lê Thị Hoa")
    f = CallFilter(from_ms=now_ms() - 3 * DAY_MS, to_ms=now_ms(), keyword="hoa")
    async with engine.connect() as conn:
        for number in range(1, 5):
            paging = Paging(number, 3)
            total, views = await queries.counted_page(conn, tenant.id, f, paging)
            listed = await queries.page(conn, tenant.id, f, paging)
            assert (total.items, total.is_estimate) == (11, False)
            assert [v.row.transaction_id for v in views] == [v.row.transaction_id for v in listed]
