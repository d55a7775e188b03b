"""Reading evaluations: every evaluation of a page of calls, in one query.

calls.queries calls `for_calls` once per page, so a list page of 50 evaluated calls costs
one query more than an unevaluated one, never one per call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.db import among
from callhistory.schema import call_evaluation_scores, call_evaluations


@dataclass(frozen=True)
class Evaluator:
    id: str
    full_name: str
    email: str | None
    user_uuid: str | None
    sip_user: str | None


@dataclass(frozen=True)
class Score:
    """One criterion's score, with the criterion as it was when the call was scored."""

    criteria_id: str
    name: str
    score: float
    max_score: int
    weight: float
    note: str | None


@dataclass
class Evaluation:
    id: str
    evaluator: Evaluator
    note: str | None
    score: float  # weighted percentage, 0..100
    created_date: int
    last_updated_date: int
    scores: list[Score] = field(default_factory=list)


_s = call_evaluation_scores
_e = call_evaluations
_SCORE_COLUMNS = (
    _s.c.criteria_id.label("s_criteria_id"),
    _s.c.criteria_name.label("s_name"),
    _s.c.score.label("s_score"),
    _s.c.max_score.label("s_max_score"),
    _s.c.weight.label("s_weight"),
    _s.c.note.label("s_note"),
)


def _evaluation(row: Row[Any]) -> Evaluation:
    return Evaluation(
        id=row.id,
        evaluator=Evaluator(
            row.evaluator_id,
            row.evaluator_name,
            row.evaluator_email,
            row.evaluator_user_uuid,
            row.evaluator_sip_user,
        ),
        note=row.note,
        score=float(row.score),
        created_date=row.created_date,
        last_updated_date=row.last_updated_date,
    )


def _score(row: Row[Any]) -> Score:
    return Score(
        row.s_criteria_id,
        row.s_name,
        float(row.s_score),
        row.s_max_score,
        float(row.s_weight),
        row.s_note,
    )


async def for_calls(
    conn: AsyncConnection, tenant_id: str, transaction_ids: Sequence[str]
) -> dict[str, list[Evaluation]]:
    """Each call's evaluations, newest first, each with its scores in the form's order."""
    if not transaction_ids:
        return {}
    rows = await conn.execute(
        select(_e, *_SCORE_COLUMNS)
        .join(
            _s,
            and_(
                _s.c.tenant_id == _e.c.tenant_id,
                _s.c.transaction_id == _e.c.transaction_id,
                _s.c.evaluation_id == _e.c.id,
            ),
        )
        .where(_e.c.tenant_id == tenant_id, among(_e.c.transaction_id, list(transaction_ids)))
        .order_by(_e.c.transaction_id, _e.c.last_updated_date.desc(), _e.c.id, _s.c.position)
    )
    found: dict[str, list[Evaluation]] = {}
    current: Evaluation | None = None
    for row in rows:
        if current is None or current.id != row.id:
            current = _evaluation(row)
            found.setdefault(row.transaction_id, []).append(current)
        current.scores.append(_score(row))
    return found
