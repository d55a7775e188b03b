"""The statistics of whole UTC hours, from the rollups the triggers keep (migration 0013).

A window [from, to] reads its whole UTC hours from agent_hour_totals or
queue_hour_totals and counts the rest, at most an hour at each end, from the calls. The
rollups carry no other filter: a request filtered otherwise (the dashboard's filters), or
grouped by steps that cut UTC hours (quarter-hours, for a zone whose offset is not whole
hours), counts the calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import ColumnElement, Table, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.calls.params import HOUR_MS, CallFilter, whole_hours
from callhistory.db import among
from callhistory.rows import insert_rows
from callhistory.schema import STATS_MEASURES, agent_hour_totals, queue_hour_totals
from callhistory.stats.buckets import Step

NO_SCORE = (0, 0)  # the measures of scores, not in the rollups


@dataclass(frozen=True)
class Split:
    hours: tuple[int, int] | None = None  # [first, end) of whole hours, from the rollups
    from_calls: list[CallFilter] = field(default_factory=list)  # the rest, counted


def _plain(f: CallFilter) -> bool:
    """Whether nothing but the window, an agent's scope and queues filters the calls."""
    return replace(f, agent_scope=None, queues=[]) == CallFilter(f.from_ms, f.to_ms)


def split(f: CallFilter, step: Step | None) -> Split:
    hours = whole_hours(f)
    whole_steps = step is None or step.whole_hours
    if hours is None or not whole_steps or not _plain(f):
        return Split(None, [f])
    first, end = hours
    edges = []
    if f.from_ms < first:
        edges.append(replace(f, to_ms=first - 1))
    if end <= f.to_ms:
        edges.append(replace(f, from_ms=end))
    return Split((first, end), edges)


def _slot(table: Table, step: Step | None) -> Any:
    if step is None:
        return literal(0).label("at")
    return step.slot(table.c.hour).label("at")


def _window(table: Table, tenant_id: str, hours: tuple[int, int]) -> list[ColumnElement[bool]]:
    first, end = hours
    return [
        table.c.tenant_id == tenant_id,
        table.c.hour >= first,
        table.c.hour < end,
        table.c.calls > 0,  # a group whose calls all went
    ]


def _ints(values: Sequence[Any]) -> tuple[int, ...]:
    return tuple(int(v or 0) for v in values)  # PostgreSQL sums bigints as numeric


def _sums(table: Table) -> list[Any]:
    return [func.sum(table.c[name]) for name in STATS_MEASURES]


async def agent_rows(
    conn: AsyncConnection,
    tenant_id: str,
    hours: tuple[int, int],
    emails: Sequence[str],
    scope: str | None,
    step: Step | None,
) -> list[tuple[Any, ...]]:
    t = agent_hour_totals
    conds = _window(t, tenant_id, hours)
    if emails:
        conds.append(among(t.c.email, emails))
    if scope is not None:
        conds.append(t.c.email == scope)
    slot = _slot(t, step)
    labels = (func.max(t.c.full_name), func.max(t.c.user_uuid))
    rows = await conn.execute(
        select(t.c.email, t.c.sip_user, *labels, slot, *_sums(t))
        .where(*conds)
        .group_by(t.c.email, t.c.sip_user, slot)
    )
    # '' is how the rollup's key says none
    return [
        ((r[0] or None, r[1] or None), tuple(r[2:4]), int(r[4]), (*_ints(r[5:]), *NO_SCORE))
        for r in rows
    ]


async def queue_rows(
    conn: AsyncConnection,
    tenant_id: str,
    hours: tuple[int, int],
    queues: Sequence[str],
    step: Step | None,
) -> list[tuple[Any, ...]]:
    t = queue_hour_totals
    conds = _window(t, tenant_id, hours)
    if queues:
        conds.append(among(t.c.queue, queues))
    slot = _slot(t, step)
    rows = await conn.execute(
        select(t.c.queue, slot, *_sums(t)).where(*conds).group_by(t.c.queue, slot)
    )
    return [((r[0],), (), int(r[1]), (*_ints(r[2:]), *NO_SCORE)) for r in rows]


def _hour(created_ms: int) -> int:
    return created_ms - created_ms % HOUR_MS


async def lock(
    conn: AsyncConnection,
    tenant_id: str,
    queues: Iterable[tuple[int, str | None]],
    agents: Iterable[tuple[int, str | None, str | None]],
) -> None:
    """Lock, queues then agents, each in one sorted statement, the rollup rows a write
    of calls and agents will change: (created_date, queue) of the calls and
    (created_date, email, sip_user) of their agents, old and new. The triggers lock them
    statement by statement, agents before or after the calls' rows depending on the
    write, so two transactions could otherwise take them in opposite orders and
    deadlock (PostgreSQL; SQLite has one writer). A group not yet counted is made at 0.
    """
    if conn.dialect.name != "postgresql":
        return
    zeros = dict.fromkeys(STATS_MEASURES, 0)
    queue_keys = {(_hour(at), queue) for at, queue in queues if queue is not None}
    agent_keys = {(_hour(at), email or "", sip_user or "") for at, email, sip_user in agents}
    for table, rows in (
        (queue_hour_totals, [{"hour": h, "queue": q} for h, q in queue_keys]),
        (agent_hour_totals,
         [{"hour": h, "email": e, "sip_user": s, "full_name": ""} for h, e, s in agent_keys]),
    ):  # fmt: skip
        key = ", ".join(c.name for c in table.primary_key.columns)
        await insert_rows(
            conn,
            table,
            [{"tenant_id": tenant_id, **row, **zeros} for row in rows],
            tail=f"ORDER BY {key} ON CONFLICT ({key}) DO UPDATE SET calls = {table.name}.calls",
        )
