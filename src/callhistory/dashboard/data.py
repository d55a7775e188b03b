"""What the pages read: a sorted page of calls and the filters' choices.

The filter is the API's SQL (calls.queries.where) and a call's parts come from
calls.queries, so the dashboard and the API cannot disagree on which calls match.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.calls import parts, queries
from callhistory.calls.params import Paging
from callhistory.calls.queries import CallView
from callhistory.dashboard.filters import View
from callhistory.schema import agents, calls, hotlines, queues, tags


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Choices:
    agents: list[Choice]
    hotlines: list[Choice]
    queues: list[Choice]
    tags: list[Choice]


def _order(view: View) -> list[object]:
    column = calls.c.duration if view.sort == "duration" else calls.c.created_date
    if view.order == "asc":
        return [column.asc(), calls.c.transaction_id.asc()]
    return [column.desc(), calls.c.transaction_id.desc()]


async def page(
    conn: AsyncConnection, tenant_id: str, view: View
) -> tuple[queries.Total, list[CallView]]:
    f = view.call_filter
    total = await queries.page_total(conn, tenant_id, f)
    if not total.items:
        return total, []
    paging = Paging(view.page, view.size)
    keys = None
    if view.sort != "duration" and view.order != "asc":
        # newest first, as the API: by agents or tags, from their own rows (calls.parts)
        keys = await parts.page_keys(conn, tenant_id, f, paging)
    if keys is None:
        rows = await conn.execute(
            select(calls.c.transaction_id)
            .where(*queries.where(tenant_id, f))
            .order_by(*_order(view))  # type: ignore[arg-type]
            .limit(paging.size)
            .offset(paging.offset)
        )
        keys = list(rows.scalars())
    return total, await queries.in_order(conn, tenant_id, keys)


async def choices(conn: AsyncConnection, tenant_id: str) -> Choices:
    agent_rows = await conn.execute(
        select(agents.c.email, agents.c.full_name, agents.c.sip_user)
        .where(agents.c.tenant_id == tenant_id, agents.c.email.is_not(None))
        .order_by(agents.c.full_name_unsigned)
    )
    hotline_rows = await conn.execute(
        select(hotlines.c.number, hotlines.c.name)
        .where(hotlines.c.tenant_id == tenant_id)
        .order_by(hotlines.c.number)
    )
    queue_rows = await conn.execute(
        select(queues.c.number, queues.c.name)
        .where(queues.c.tenant_id == tenant_id)
        .order_by(queues.c.number)
    )
    tag_rows = await conn.execute(
        select(tags.c.id, tags.c.name).where(tags.c.tenant_id == tenant_id).order_by(tags.c.name)
    )
    return Choices(
        agents=[
            Choice(r.email, f"{r.full_name} ({r.sip_user})" if r.sip_user else r.full_name)
            for r in agent_rows
        ],
        hotlines=[Choice(r.number, f"{r.number} {r.name}".strip()) for r in hotline_rows],
        queues=[Choice(r.number, f"{r.number} {r.name}".strip()) for r in queue_rows],
        tags=[Choice(r.id, r.name) for r in tag_rows],
    )


async def evaluators(conn: AsyncConnection, tenant_id: str) -> list[Choice]:
    """Active agents who can score a call, by the key the evaluation API takes."""
    rows = await conn.execute(
        select(
            agents.c.id, agents.c.email, agents.c.user_uuid, agents.c.sip_user, agents.c.full_name
        )
        .where(agents.c.tenant_id == tenant_id, agents.c.active.is_(True))
        .order_by(agents.c.full_name_unsigned)
    )
    out: list[Choice] = []
    for r in rows:
        key = r.user_uuid or r.sip_user or r.email
        if key:
            out.append(Choice(str(key), str(r.full_name)))
    return out
