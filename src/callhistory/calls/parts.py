"""Counts and pages of the calls a filter picks only by who was on them or how they are tagged.

A call's agents (`call_users`) and tags (`call_tags`) exist only while the call is live:
erasure deletes them with the call's personal data (calls.deletion), retention and an
outright delete with the call. So when a filter is the window plus agents, user ids, tags
or an agent's key and nothing else, its total is the number of distinct calls of the
matching rows, read from their indexes (tenant, value, created_date, transaction_id:
migration 0014) without reading a call. A month of one agent at 10 M calls is some ten
thousand index entries; counted through the calls it read the whole window's rows.
"""

from __future__ import annotations

from sqlalchemy import CompoundSelect, Select, func, intersect, select, union
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.calls import quality
from callhistory.calls.conditions import has_column_filters
from callhistory.calls.params import CallFilter, Paging
from callhistory.db import among
from callhistory.schema import call_tags, call_users, calls

Ids = Select[tuple[int, str]]  # (created_date, transaction_id): the row's date is the call's


def usable(f: CallFilter) -> bool:
    picks_by_parts = bool(f.agents or f.user_uuids or f.tag_ids) or f.agent_scope is not None
    return picks_by_parts and not f.keyword and not has_column_filters(f) and not quality.is_set(f)


def _agents(tenant_id: str, f: CallFilter, *conditions: object) -> Ids:
    return select(call_users.c.created_date, call_users.c.transaction_id).where(
        call_users.c.tenant_id == tenant_id,
        call_users.c.created_date.between(f.from_ms, f.to_ms),
        *conditions,  # type: ignore[arg-type]
    )


def _flat(ids: CompoundSelect[tuple[int, str]]) -> Ids:
    # SQLite takes no compound select inside another: each union is read as a table.
    found = ids.subquery()
    return select(found.c.created_date, found.c.transaction_id)


def _by_user_ids(tenant_id: str, f: CallFilter) -> Ids:
    """As queries.where: the call's own extension, or an agent on it by id or extension."""
    own = select(calls.c.created_date, calls.c.transaction_id).where(
        calls.c.tenant_id == tenant_id,
        calls.c.created_date.between(f.from_ms, f.to_ms),
        calls.c.is_deleted.is_(False),
        among(calls.c.sip_user, f.user_uuids),
    )
    # one select per index, not an OR: each stays an index-only scan of its own index
    by_id, by_extension = (
        _agents(tenant_id, f, among(column, f.user_uuids))
        for column in (call_users.c.user_uuid, call_users.c.sip_user)
    )
    return _flat(union(own, by_id, by_extension))


def _id_sets(tenant_id: str, f: CallFilter) -> list[Ids]:
    """One set of call ids per filter; the calls the filter picks are in every one."""
    sets: list[Ids] = []
    if f.agents:
        sets.append(_agents(tenant_id, f, among(call_users.c.email, f.agents)))
    if f.agent_scope is not None:
        sets.append(_agents(tenant_id, f, call_users.c.email == f.agent_scope))
    if f.user_uuids:
        sets.append(_by_user_ids(tenant_id, f))
    if f.tag_ids:
        sets.append(
            select(call_tags.c.created_date, call_tags.c.transaction_id).where(
                call_tags.c.tenant_id == tenant_id,
                call_tags.c.created_date.between(f.from_ms, f.to_ms),
                among(call_tags.c.tag_id, f.tag_ids),
            )
        )
    return sets


def _picked(tenant_id: str, f: CallFilter) -> Ids:
    """The calls `f` picks, once each: one agent can be on a call twice, a tag set by two
    owners."""
    sets = _id_sets(tenant_id, f)
    return sets[0].distinct() if len(sets) == 1 else _flat(intersect(*sets))


async def count(conn: AsyncConnection, tenant_id: str, f: CallFilter) -> int | None:
    """The exact number of calls `f` picks, or None when it filters the calls themselves."""
    if not usable(f):
        return None
    total = await conn.scalar(select(func.count()).select_from(_picked(tenant_id, f).subquery()))
    return int(total or 0)


async def page_keys(
    conn: AsyncConnection, tenant_id: str, f: CallFilter, paging: Paging
) -> list[str] | None:
    """The page's calls, newest first as queries.page, or None as `count`: from the
    same rows, where the calls' own index would be walked through the whole window."""
    if not usable(f):
        return None
    picked = _picked(tenant_id, f).subquery()
    rows = await conn.execute(
        select(picked.c.transaction_id)
        .order_by(picked.c.created_date.desc(), picked.c.transaction_id.desc())
        .limit(paging.size)
        .offset(paging.offset)
    )
    return list(rows.scalars())
