"""Totals and pages of filters by agents, user ids and tags, read from those rows alone
(calls.parts), equal the plain count and page through the calls for every combination,
on both stores."""

from __future__ import annotations

from itertools import chain, combinations, product

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.calls import parts, queries
from callhistory.calls.deletion import erase
from callhistory.calls.params import CallFilter, Paging
from callhistory.config import Settings
from callhistory.schema import call_tags, calls, tags
from tests.factories import DAY_MS, Tenant, add_agent, add_call, make_tenant, now_ms


def _subsets(values: list[str]) -> list[list[str]]:
    return [list(c) for c in chain.from_iterable(combinations(values, n) for n in range(3))]


async def _tag_id(engine: AsyncEngine, tenant: Tenant, name: str) -> str:
    async with engine.connect() as conn:
        found = await conn.scalar(
            select(tags.c.id).where(tags.c.tenant_id == tenant.id, tags.c.name == name)
        )
    assert isinstance(found, str)
    return found


@pytest.fixture(scope="module")
async def scene(engine: AsyncEngine) -> tuple[Tenant, dict[str, list[str]]]:
    """Calls built to break a naive count: an agent twice on one call, one tag from two
    owners, an extension on the call row only, an erased call, a call outside the window."""
    t = await make_tenant(engine, "parts")
    x = await add_agent(engine, t, "Võ Thị Xuân", "201", "xuan@acme.vn")
    y = await add_agent(engine, t, "Lý Văn Yên", "202", "yen@acme.vn")
    day = now_ms() - 2 * DAY_MS
    await add_call(engine, t, created_date=day, agents_on_call=[x, x], tags=["vip"])
    both = await add_call(engine, t, created_date=day + 1, agents_on_call=[x, y], tags=["vip"])
    async with engine.begin() as conn:  # y tags the call "vip" too
        await conn.execute(
            call_tags.insert().values(
                tenant_id=t.id,
                transaction_id=both,
                user_position=1,
                tag_id=await _tag_id(engine, t, "vip"),
                position=0,
                created_date=day + 1,
            )
        )
    await add_call(engine, t, created_date=day + 2, sip_user="205")  # no agent row
    erased = await add_call(engine, t, created_date=day + 3, agents_on_call=[y], tags=["vip"])
    assert await erase(engine, Settings(), t.id, erased, "test") is not None
    await add_call(engine, t, created_date=now_ms() - 40 * DAY_MS, agents_on_call=[x])
    await add_call(engine, t, created_date=day + 4, agents_on_call=[y], tags=["complaint"])
    values = {
        "agents": [x.email, y.email],
        "user_uuids": [x.user_uuid, "205", y.sip_user],
        "tag_ids": [await _tag_id(engine, t, n) for n in ("vip", "complaint")],
    }
    return t, values


async def test_every_combination_counts_as_the_calls_do(
    engine: AsyncEngine, scene: tuple[Tenant, dict[str, list[str]]]
) -> None:
    tenant, values = scene
    combos = product(
        _subsets(values["agents"]),
        _subsets(values["user_uuids"]),
        _subsets(values["tag_ids"]),
        [None, values["agents"][0]],
    )
    checked = 0
    async with engine.connect() as conn:
        for agents, user_uuids, tag_ids, scope in combos:
            f = CallFilter(
                from_ms=now_ms() - 30 * DAY_MS,
                to_ms=now_ms(),
                agents=agents,
                user_uuids=user_uuids,
                tag_ids=tag_ids,
                agent_scope=scope,
            )
            plain = await conn.scalar(
                select(func.count()).select_from(calls).where(*queries.where(tenant.id, f))
            )
            from_parts = await parts.count(conn, tenant.id, f)
            if from_parts is None:
                assert not parts.usable(f)
                continue
            assert from_parts == plain, f
            newest = list(
                await conn.scalars(
                    select(calls.c.transaction_id)
                    .where(*queries.where(tenant.id, f))
                    .order_by(calls.c.created_date.desc(), calls.c.transaction_id.desc())
                )
            )
            for paging in (Paging(1, 2), Paging(2, 2), Paging(1, 50)):
                page = await parts.page_keys(conn, tenant.id, f, paging)
                expected = newest[paging.offset : paging.offset + paging.size]
                assert page == expected, (f, paging)
            checked += 1
    assert checked == 4 * 7 * 4 * 2 - 1  # all but the one with no part filter at all


@pytest.mark.parametrize(
    "extra",
    [{"directions": ["inbound"]}, {"keyword": "xuan"}, {"min_duration": 10}, {}],
)
def test_other_filters_count_the_calls(extra: dict[str, object]) -> None:
    f = CallFilter(from_ms=0, to_ms=1, agents=["a@b.vn"], **extra)  # type: ignore[arg-type]
    assert parts.usable(f) is (not extra)


def test_no_part_filter_is_not_counted_here() -> None:
    assert not parts.usable(CallFilter(from_ms=0, to_ms=1))
