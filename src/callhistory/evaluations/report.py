"""The quality report: per agent and per criterion averages of the window's evaluations.

The window filters on the call's start (`created_date`), as every window of the API
does. An evaluation counts for every agent on its call (a transferred call has several);
the overall figures count each evaluation once, whatever the number of agents. A fixed
number of grouped queries, whatever the number of evaluations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, exists, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.db import among, unindexed
from callhistory.evaluations import criteria
from callhistory.evaluations.shapes import number, rounded
from callhistory.schema import agents, call_evaluation_scores, call_evaluations, call_users, calls
from callhistory.text import fold

_e = call_evaluations
_s = call_evaluation_scores


@dataclass(frozen=True)
class ReportFilter:
    from_ms: int
    to_ms: int
    agents: list[str] = field(default_factory=list)  # emails, as the list's `agents`


def _agents_on_calls(tenant_id: str, f: ReportFilter) -> Subquery:
    """(transaction_id, agent_id) of the window's evaluated calls, once per agent and call.

    Only the evaluated calls' agents: about one call in a hundred is evaluated, and
    reading every agent row of the window first took 2.5 s for a month at 10 M calls.
    """
    evaluated = select(_e.c.transaction_id).where(
        _e.c.tenant_id == tenant_id, _e.c.call_created_date.between(f.from_ms, f.to_ms)
    )
    query = select(call_users.c.transaction_id, call_users.c.agent_id).where(
        call_users.c.tenant_id == tenant_id,
        call_users.c.agent_id.is_not(None),
        call_users.c.created_date.between(f.from_ms, f.to_ms),
        call_users.c.transaction_id.in_(evaluated),
    )
    if f.agents:
        query = query.where(among(call_users.c.email, f.agents))
    return query.distinct().subquery()


def _evaluations_where(
    tenant_id: str, f: ReportFilter, *, by_call: bool = False
) -> list[ColumnElement[bool]]:
    """The window's evaluations; `by_call`: each is looked up by its call's key (joined
    to the agents on the window's evaluated calls), not read from the window's index."""
    created: Any = unindexed(_e.c.call_created_date) if by_call else _e.c.call_created_date
    conds: list[ColumnElement[bool]] = [
        _e.c.tenant_id == tenant_id,
        created.between(f.from_ms, f.to_ms),
        exists().where(
            calls.c.tenant_id == _e.c.tenant_id,
            calls.c.transaction_id == _e.c.transaction_id,
            calls.c.is_deleted.is_(False),
        ),
    ]
    if f.agents:
        conds.append(
            exists().where(
                call_users.c.tenant_id == _e.c.tenant_id,
                call_users.c.transaction_id == _e.c.transaction_id,
                among(call_users.c.email, f.agents),
            )
        )
    return conds


_SCORES_JOIN = and_(
    _s.c.tenant_id == _e.c.tenant_id,
    _s.c.transaction_id == _e.c.transaction_id,
    _s.c.evaluation_id == _e.c.id,
)
_TOTALS = (
    func.count(func.distinct(_e.c.transaction_id)),
    func.count(),
    func.avg(_e.c.score),
)
# Grouped by an unindexed criterion: SQLite read every score of the tenant through the
# criteria's index (sorted for the grouping) and looked its evaluation up, 20 ms at 1 M.
_CRITERION_ID = unindexed(_s.c.criteria_id)
_CRITERION = (
    _CRITERION_ID,
    func.count(),
    func.avg(_s.c.score),
    func.avg(_s.c.score * 100.0 / _s.c.max_score),
)


def _totals(calls_count: Any, count: Any, average: Any) -> dict[str, Any]:
    return {
        "evaluated_calls": int(calls_count or 0),
        "evaluations": int(count or 0),
        "average_score": None if average is None else rounded(float(average)),
    }


def _criterion_averages(row: Sequence[Any]) -> dict[str, Any]:
    _, count, average, percentage = row
    return {
        "count": int(count),
        "average_score": rounded(float(average)),
        "average_percentage": rounded(float(percentage)),
    }


async def _per_agent(
    conn: AsyncConnection, tenant_id: str, f: ReportFilter
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, dict[str, Any]]]]:
    on_call = _agents_on_calls(tenant_id, f)
    joined = on_call.c.transaction_id == _e.c.transaction_id
    where = _evaluations_where(tenant_id, f, by_call=True)
    totals = await conn.execute(
        select(on_call.c.agent_id, *_TOTALS)
        .select_from(_e.join(on_call, joined))
        .where(*where)
        .group_by(on_call.c.agent_id)
    )
    by_agent = {row[0]: _totals(*row[1:]) for row in totals}
    scores = await conn.execute(
        select(on_call.c.agent_id, *_CRITERION)
        .select_from(_e.join(on_call, joined).join(_s, _SCORES_JOIN))
        .where(*where)
        .group_by(on_call.c.agent_id, _CRITERION_ID)
    )
    by_criterion: dict[str, dict[str, dict[str, Any]]] = {}
    for row in scores:
        by_criterion.setdefault(row[0], {})[row[1]] = _criterion_averages(row[1:])
    return by_agent, by_criterion


async def _overall(
    conn: AsyncConnection, tenant_id: str, f: ReportFilter
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    where = _evaluations_where(tenant_id, f)
    totals = (await conn.execute(select(*_TOTALS).select_from(_e).where(*where))).one()
    scores = await conn.execute(
        select(*_CRITERION)
        .select_from(_e.join(_s, _SCORES_JOIN))
        .where(*where)
        .group_by(_CRITERION_ID)
    )
    return _totals(*totals), {row[0]: _criterion_averages(row) for row in scores}


async def _agent_rows(conn: AsyncConnection, tenant_id: str, ids: list[str]) -> dict[str, Any]:
    if not ids:
        return {}
    rows = await conn.execute(
        select(agents).where(agents.c.tenant_id == tenant_id, among(agents.c.id, ids))
    )
    return {row.id: row for row in rows}


def _criteria_order(rows: dict[str, Row[Any]]) -> list[Row[Any]]:
    """The form's order; deactivated criteria after the active ones."""
    return sorted(rows.values(), key=lambda r: (not r.active, r.position, r.id))


async def build(conn: AsyncConnection, tenant_id: str, f: ReportFilter) -> dict[str, Any]:
    by_agent, agent_scores = await _per_agent(conn, tenant_id, f)
    overall, overall_scores = await _overall(conn, tenant_id, f)
    known = _criteria_order(await criteria.by_ids(conn, tenant_id, list(overall_scores)))
    people = await _agent_rows(conn, tenant_id, list(by_agent))

    def agent_item(agent_id: str) -> dict[str, Any]:
        person = people.get(agent_id)
        scores = agent_scores.get(agent_id, {})
        return {
            "agent_id": agent_id,
            "full_name": person.full_name if person else None,
            "email": person.email if person else None,
            "sip_user": person.sip_user if person else None,
            "user_uuid": person.user_uuid if person else None,
            **by_agent[agent_id],
            "criteria": [
                {"criteria_id": c.id, "name": c.name, **scores[c.id]}
                for c in known
                if c.id in scores
            ],
        }

    def sort_key(agent_id: str) -> tuple[str, str]:
        person = people.get(agent_id)
        return (fold(person.full_name) if person else "", agent_id)

    return {
        "from_date": f.from_ms,
        "to_date": f.to_ms,
        **overall,
        "criteria": [
            {
                "criteria_id": c.id,
                "name": c.name,
                "max_score": c.max_score,
                "weight": number(c.weight),
                "active": c.active,
                **overall_scores[c.id],
            }
            for c in known
        ],
        "agents": [agent_item(a) for a in sorted(by_agent, key=sort_key)],
    }
