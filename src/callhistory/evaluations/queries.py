"""Reading evaluations: a call's evaluations, read in the same statement as the call.

calls.queries adds `of_each_call` to the statement that reads a page's calls, so a page of
evaluated calls costs no statement more than one of unevaluated calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, and_, select
from sqlalchemy.sql.selectable import ScalarSelect

from callhistory.db import exact_float, json_rows
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
# One row per score, with its evaluation: what `of_each_call` reads and `from_rows` groups.
_COLUMNS = (
    _e.c.id,
    _e.c.evaluator_id,
    _e.c.evaluator_name,
    _e.c.evaluator_email,
    _e.c.evaluator_user_uuid,
    _e.c.evaluator_sip_user,
    _e.c.note,
    exact_float(_e.c.score),
    _e.c.created_date,
    _e.c.last_updated_date,
    _s.c.position,
    _s.c.criteria_id,
    _s.c.criteria_name,
    exact_float(_s.c.score),
    _s.c.max_score,
    exact_float(_s.c.weight),
    _s.c.note,
)
_ID, _LAST_UPDATED, _POSITION = 0, 9, 10


def of_each_call(calls: Table) -> ScalarSelect[str]:
    """For a query of `calls`: each call's scores with their evaluations, as `json_rows`."""
    return (
        select(json_rows(*_COLUMNS))
        .select_from(
            _e.join(
                _s,
                and_(
                    _s.c.tenant_id == _e.c.tenant_id,
                    _s.c.transaction_id == _e.c.transaction_id,
                    _s.c.evaluation_id == _e.c.id,
                ),
            )
        )
        .where(_e.c.tenant_id == calls.c.tenant_id, _e.c.transaction_id == calls.c.transaction_id)
        .scalar_subquery()
    )


def from_rows(rows: list[list[Any]]) -> list[Evaluation]:
    """`of_each_call`'s rows of one call: its evaluations, newest first, each with its
    scores in the form's order."""
    found: list[Evaluation] = []
    rows.sort(key=lambda r: (-r[_LAST_UPDATED], r[_ID], r[_POSITION]))
    for row in rows:
        if not found or found[-1].id != row[_ID]:
            found.append(_evaluation(row))
        _position, criteria_id, name, score, max_score, weight, note = row[_POSITION:]
        found[-1].scores.append(
            Score(criteria_id, name, float(score), max_score, float(weight), note)
        )
    return found


def _evaluation(row: list[Any]) -> Evaluation:
    (evaluation_id, evaluator_id, name, email, user_uuid, sip_user, note, score, created,
     last_updated) = row[:_POSITION]  # fmt: skip
    return Evaluation(
        id=evaluation_id,
        evaluator=Evaluator(evaluator_id, name, email, user_uuid, sip_user),
        note=note,
        score=float(score),
        created_date=created,
        last_updated_date=last_updated,
    )
