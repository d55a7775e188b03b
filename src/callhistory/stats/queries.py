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

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.calls import queries
from callhistory.calls.params import CallFilter
from callhistory.schema import call_evaluations, call_users, calls


def _slot(step_ms: int | None) -> Any:
    """The step of UTC a row falls in, as its start in epoch ms (None: the whole window)."""
    if step_ms is None:
        return literal(0).label("at")
    return (calls.c.created_date // step_ms * step_ms).label("at")


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


def _measures(handled: ColumnElement[bool], scores: Any) -> list[Any]:
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
        _sum(and_(handled, scores.c.score.is_not(None)), scores.c.score),
        _count(and_(handled, scores.c.score.is_not(None))),
    ]


MEASURES = (
    "calls",
    "inbound",
    "outbound",
    "answered",
    "missed",
    "talk_sec",
    "handle_sec",
    "wait_sec",
    "score_sum",
    "scored",
)


# (who or what, what else is known of it, the step's start in epoch ms, MEASURES)
Row = tuple[tuple[Any, ...], tuple[Any, ...], int, tuple[int | float, ...]]


async def agent_rows(
    conn: AsyncConnection,
    tenant_id: str,
    f: CallFilter,
    emails: Sequence[str],
    step_ms: int | None = None,
) -> list[Row]:
    """((email, sip_user), (full_name, user_uuid), at, measures) per agent and step."""
    slot = _slot(step_ms)
    scores = _scores(tenant_id, f)
    handled = and_(calls.c.disposition == "answered", call_users.c.position == 0)
    conds = [*queries.where(tenant_id, f)]
    if emails:
        conds.append(call_users.c.email.in_(list(emails)))
    if f.agent_scope is not None:  # an agent's key: its own line only
        conds.append(call_users.c.email == f.agent_scope)
    on_call = and_(
        call_users.c.tenant_id == calls.c.tenant_id,
        call_users.c.transaction_id == calls.c.transaction_id,
    )
    rows = await conn.execute(
        select(
            call_users.c.email,
            call_users.c.sip_user,
            func.max(call_users.c.full_name),
            func.max(call_users.c.user_uuid),
            slot,
            *_measures(handled, scores),
        )
        .select_from(
            calls.join(call_users, on_call).outerjoin(
                scores, scores.c.transaction_id == calls.c.transaction_id
            )
        )
        .where(*conds)
        .group_by(call_users.c.email, call_users.c.sip_user, slot)
    )
    return [(tuple(r[:2]), tuple(r[2:4]), int(r[4]), tuple(r[5:])) for r in rows]


async def queue_rows(
    conn: AsyncConnection, tenant_id: str, f: CallFilter, step_ms: int | None = None
) -> list[Row]:
    """((queue,), (), at, measures) per queue and step."""
    slot = _slot(step_ms)
    scores = _scores(tenant_id, f)
    handled = calls.c.disposition == "answered"
    rows = await conn.execute(
        select(calls.c.queue_destination, slot, *_measures(handled, scores))
        .select_from(calls.outerjoin(scores, scores.c.transaction_id == calls.c.transaction_id))
        .where(*queries.where(tenant_id, f), calls.c.queue_destination.is_not(None))
        .group_by(calls.c.queue_destination, slot)
    )
    return [((r[0],), (), int(r[1]), tuple(r[2:])) for r in rows]
