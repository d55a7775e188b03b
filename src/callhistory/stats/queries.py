"""The statistics' SQL: one row per step of time and agent (or queue), summed in Python.

Definitions (docs/stats.md): an agent's calls are those they took part in; a call is
answered by the agent listed first on it (ingest puts the one who answered first);
`missed` are the inbound calls they were on and did not answer. Talk time is `bill_sec`,
handle time `bill_sec + hold_call_sec`, both of the calls they answered; the score is the
average of those calls' evaluations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, delete, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.calls import queries, totals
from callhistory.calls.params import HOUR_MS, CallFilter
from callhistory.db import among
from callhistory.schema import (
    STATS_MEASURES,
    agent_hour_totals,
    call_evaluations,
    call_hour_totals,
    call_users,
    calls,
    queue_hour_totals,
)
from callhistory.stats import rollups
from callhistory.stats.buckets import Step


def _slot(step: Step | None) -> Any:
    """The step a row falls in, as its start in epoch ms (None: the whole window)."""
    if step is None:
        return literal(0).label("at")
    return step.slot(calls.c.created_date).label("at")


def _scores(tenant_id: str, f: CallFilter) -> Any:
    """Each call's average evaluation score in the window."""
    return (
        select(call_evaluations.c.transaction_id, func.avg(call_evaluations.c.score).label("score"))
        .where(
            call_evaluations.c.tenant_id == tenant_id,
            call_evaluations.c.call_created_date >= f.from_ms,
            call_evaluations.c.call_created_date <= f.to_ms,
        )
        .group_by(call_evaluations.c.transaction_id)
        .subquery()
    )


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _sum(condition: ColumnElement[bool], value: Any) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def _measures(handled: ColumnElement[bool]) -> list[Any]:
    """STATS_MEASURES of the grouped calls, as migration 0013's triggers count them."""
    inbound = calls.c.direction == "inbound"
    return [
        func.count(),
        _count(inbound),
        _count(calls.c.direction == "outbound"),
        _count(handled),
        _count(and_(inbound, ~handled)),
        _sum(handled, calls.c.bill_sec),
        _sum(handled, calls.c.bill_sec + calls.c.hold_call_sec),
        _sum(inbound, calls.c.wait_sec),
    ]


MEASURES = (*STATS_MEASURES, "score_sum", "scored")
_NO_COUNTS = (0,) * len(STATS_MEASURES)

# (who or what, what else is known of it, the step's start in epoch ms, MEASURES)
Row = tuple[tuple[Any, ...], tuple[Any, ...], int, tuple[int | float, ...]]


def _agent_conditions(emails: Sequence[str], scope: str | None) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if emails:
        conds.append(among(call_users.c.email, emails))
    if scope is not None:  # an agent's key: its own line only
        conds.append(call_users.c.email == scope)
    return conds


def _on_call() -> ColumnElement[bool]:
    return and_(
        call_users.c.tenant_id == calls.c.tenant_id,
        call_users.c.transaction_id == calls.c.transaction_id,
    )


def _answered_by_agent() -> ColumnElement[bool]:
    """The agent row is the one who answered the call (ingest lists them first)."""
    return and_(calls.c.disposition == "answered", call_users.c.position == 0)


def _agent_columns(slot: Any) -> list[Any]:
    """(email, sip_user), (full_name, user_uuid) and the step: what Row's first three hold."""
    return [
        call_users.c.email,
        call_users.c.sip_user,
        func.max(call_users.c.full_name),
        func.max(call_users.c.user_uuid),
        slot,
    ]


def _scored_calls(tenant_id: str, scores: Any) -> Any:
    """The window's scored calls joined to their rows in calls."""
    return scores.join(
        calls,
        and_(calls.c.tenant_id == tenant_id, calls.c.transaction_id == scores.c.transaction_id),
    )


async def _agents_from_calls(
    conn: AsyncConnection, tenant_id: str, f: CallFilter, emails: Sequence[str], step: Step | None
) -> list[Row]:
    slot = _slot(step)
    rows = await conn.execute(
        select(*_agent_columns(slot), *_measures(_answered_by_agent()))
        .select_from(calls.join(call_users, _on_call()))
        .where(*queries.where(tenant_id, f), *_agent_conditions(emails, f.agent_scope))
        .group_by(call_users.c.email, call_users.c.sip_user, slot)
    )
    return [(tuple(r[:2]), tuple(r[2:4]), int(r[4]), (*r[5:], *rollups.NO_SCORE)) for r in rows]


async def _agent_scores(
    conn: AsyncConnection, tenant_id: str, f: CallFilter, emails: Sequence[str], step: Step | None
) -> list[Row]:
    """The scored calls each agent answered: few (evaluations are a sample), read whole."""
    slot = _slot(step)
    scores = _scores(tenant_id, f)
    rows = await conn.execute(
        select(*_agent_columns(slot), func.sum(scores.c.score), func.count())
        .select_from(_scored_calls(tenant_id, scores).join(call_users, _on_call()))
        .where(
            *queries.where(tenant_id, f),
            _answered_by_agent(),
            *_agent_conditions(emails, f.agent_scope),
        )
        .group_by(call_users.c.email, call_users.c.sip_user, slot)
    )
    return [(tuple(r[:2]), tuple(r[2:4]), int(r[4]), (*_NO_COUNTS, r[5], r[6])) for r in rows]


async def agent_rows(
    conn: AsyncConnection,
    tenant_id: str,
    f: CallFilter,
    emails: Sequence[str],
    step: Step | None = None,
) -> list[Row]:
    """((email, sip_user), (full_name, user_uuid), at, measures) per agent and step:
    whole UTC hours from agent_hour_totals, the rest of the window from the calls."""
    rows: list[Row] = []
    split = rollups.split(f, step)
    for part in split.from_calls:
        rows += await _agents_from_calls(conn, tenant_id, part, emails, step)
    if split.hours is not None:
        rows += await rollups.agent_rows(conn, tenant_id, split.hours, emails, f.agent_scope, step)
    return rows + await _agent_scores(conn, tenant_id, f, emails, step)


async def _queues_from_calls(
    conn: AsyncConnection, tenant_id: str, f: CallFilter, step: Step | None
) -> list[Row]:
    slot = _slot(step)
    rows = await conn.execute(
        select(calls.c.queue_destination, slot, *_measures(calls.c.disposition == "answered"))
        .where(*queries.where(tenant_id, f), calls.c.queue_destination.is_not(None))
        .group_by(calls.c.queue_destination, slot)
    )
    return [((r[0],), (), int(r[1]), (*r[2:], *rollups.NO_SCORE)) for r in rows]


async def _queue_scores(
    conn: AsyncConnection, tenant_id: str, f: CallFilter, step: Step | None
) -> list[Row]:
    slot = _slot(step)
    scores = _scores(tenant_id, f)
    rows = await conn.execute(
        select(calls.c.queue_destination, slot, func.sum(scores.c.score), func.count())
        .select_from(_scored_calls(tenant_id, scores))
        .where(
            *queries.where(tenant_id, f),
            calls.c.queue_destination.is_not(None),
            calls.c.disposition == "answered",
        )
        .group_by(calls.c.queue_destination, slot)
    )
    return [((r[0],), (), int(r[1]), (*_NO_COUNTS, r[2], r[3])) for r in rows]


async def queue_rows(
    conn: AsyncConnection, tenant_id: str, f: CallFilter, step: Step | None = None
) -> list[Row]:
    """((queue,), (), at, measures) per queue and step, split as agent_rows."""
    rows: list[Row] = []
    split = rollups.split(f, step)
    for part in split.from_calls:
        rows += await _queues_from_calls(conn, tenant_id, part, step)
    if split.hours is not None:
        rows += await rollups.queue_rows(conn, tenant_id, split.hours, f.queues, step)
    return rows + await _queue_scores(conn, tenant_id, f, step)


def _hour_of_call() -> Any:
    return calls.c.created_date - calls.c.created_date % HOUR_MS


def fresh_agent_totals() -> Select[Any]:
    """agent_hour_totals as counted afresh from the calls (labels, then STATS_MEASURES)."""
    hour, email, sip_user = (
        _hour_of_call(),
        func.coalesce(call_users.c.email, ""),
        func.coalesce(call_users.c.sip_user, ""),
    )
    return (
        select(
            calls.c.tenant_id,
            hour,
            email,
            sip_user,
            func.max(call_users.c.full_name),
            func.max(call_users.c.user_uuid),
            *_measures(_answered_by_agent()),
        )
        .select_from(calls.join(call_users, _on_call()))
        .where(calls.c.is_deleted.is_(False))
        .group_by(calls.c.tenant_id, hour, email, sip_user)
    )


def fresh_queue_totals() -> Select[Any]:
    hour = _hour_of_call()
    return (
        select(calls.c.tenant_id, hour, calls.c.queue_destination,
               *_measures(calls.c.disposition == "answered"))
        .where(calls.c.is_deleted.is_(False), calls.c.queue_destination.is_not(None))
        .group_by(calls.c.tenant_id, hour, calls.c.queue_destination)
    )  # fmt: skip


# each rollup the triggers keep and its fresh count (the calls' totals too: calls.totals)
ROLLUPS = (
    (agent_hour_totals, fresh_agent_totals),
    (queue_hour_totals, fresh_queue_totals),
    (call_hour_totals, totals.fresh_totals),
)


def rollup_sql(dialect: Any) -> dict[str, tuple[list[str], str]]:
    """For a load that bypassed the triggers (bench.load), per rollup: the statements
    that recount it, and one that counts its rows differing from the calls (0: exact)."""

    def sql(statement: Any) -> str:
        return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))

    out = {}
    for table, counted in ROLLUPS:
        fresh = counted()
        kept = select(*table.c).where(table.c.calls != 0)
        missing, extra = (
            select(func.count()).select_from(one.except_(other).subquery()).scalar_subquery()
            for one, other in ((fresh, kept), (kept, fresh))
        )
        differing = select(missing + extra)
        rebuild = [sql(delete(table)), sql(table.insert().from_select(list(table.c.keys()), fresh))]
        out[table.name] = (rebuild, sql(differing))
    return out
