"""Scoring a call: checking an `add_evaluation` body, then storing the evaluation.

One evaluation per evaluator and call: the same evaluator scoring again replaces their
own evaluation (same id, new scores); several evaluators each keep theirs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import delete, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.db import new_id, now_ms
from callhistory.envelope import ApiError, validation_error
from callhistory.evaluations import criteria
from callhistory.evaluations.shapes import weighted_percentage
from callhistory.schema import agents, call_evaluation_scores, call_evaluations, calls

MAX_NOTE = 5000
_HUGE = 10**6  # beyond any max_score: kept out of float() so it cannot overflow


@dataclass(frozen=True)
class ScoreIn:
    criteria_id: str
    score: float
    note: str | None


@dataclass(frozen=True)
class EvaluationIn:
    user_uuid: str  # the evaluator: user id, extension or email
    scores: list[ScoreIn]
    note: str | None


def _at(index: int, name: str | None = None) -> str:
    return f"evaluation.criteria.{index}" + (f".{name}" if name else "")


def _problem(code: str, field: str) -> NoReturn:
    """A refusal with its own code, and the field it is about, as validation errors do."""
    raise ApiError(400, code, [{"field": field, "code": code}])


def _note(field: str, raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise validation_error(field, "must_be_a_string")
    if len(raw) > MAX_NOTE:
        raise validation_error(field, "too_long")
    return raw.strip() or None


def _number(raw: Any) -> float:
    if isinstance(raw, int) and abs(raw) > _HUGE:
        return math.copysign(math.inf, raw)
    return float(raw)


def _score_in(index: int, raw: Any) -> ScoreIn:
    if not isinstance(raw, dict):
        raise validation_error(_at(index), "must_be_an_object")
    criteria_id, score = raw.get("criteria_id"), raw.get("score")
    if criteria_id is None:
        raise validation_error(_at(index, "criteria_id"), "required")
    if not isinstance(criteria_id, str) or not criteria_id.strip():
        raise validation_error(_at(index, "criteria_id"), "must_be_a_string")
    if score is None:
        raise validation_error(_at(index, "score"), "required")
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise validation_error(_at(index, "score"), "must_be_a_number")
    return ScoreIn(criteria_id.strip(), _number(score), _note(_at(index, "note"), raw.get("note")))


def _evaluator_key(raw: Any) -> str:
    # The source calls it a user id or an extension; extensions often arrive as numbers.
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ApiError(400, "user_uuid_is_required")
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise validation_error("user_uuid", "must_be_a_string")
    return str(raw).strip()


def parse(body: Mapping[str, Any]) -> EvaluationIn:
    user_uuid = _evaluator_key(body.get("user_uuid"))
    evaluation = body.get("evaluation")
    if evaluation is None:
        raise ApiError(400, "evaluation_is_required")
    if not isinstance(evaluation, dict):
        raise validation_error("evaluation", "must_be_an_object")
    raw_scores = evaluation.get("criteria")
    if raw_scores is None:
        raise validation_error("evaluation.criteria", "required")
    if not isinstance(raw_scores, list):
        raise validation_error("evaluation.criteria", "must_be_a_list")
    if not raw_scores:
        raise validation_error("evaluation.criteria", "empty")
    if len(raw_scores) > criteria.MAX_ACTIVE:
        raise validation_error("evaluation.criteria", "too_many_items")
    scores = [_score_in(index, raw) for index, raw in enumerate(raw_scores)]
    seen: set[str] = set()
    for index, score in enumerate(scores):
        if score.criteria_id in seen:
            _problem("duplicate_criteria", _at(index, "criteria_id"))
        seen.add(score.criteria_id)
    return EvaluationIn(user_uuid, scores, _note("evaluation.note", evaluation.get("note")))


async def find_evaluator(conn: AsyncConnection, tenant_id: str, key: str) -> Row[Any] | None:
    """The tenant's active agent with this user id, else extension, else email."""
    rows = (
        await conn.execute(
            select(agents)
            .where(
                agents.c.tenant_id == tenant_id,
                agents.c.active.is_(True),
                or_(
                    agents.c.user_uuid == key,
                    agents.c.sip_user == key,
                    agents.c.email == key.lower(),
                ),
            )
            .order_by(agents.c.id)  # should two agents share a key, the answer is stable
        )
    ).all()
    for column in ("user_uuid", "sip_user", "email"):
        wanted = key.lower() if column == "email" else key
        for row in rows:
            if getattr(row, column) == wanted:
                return row
    return None


async def _lock_call(conn: AsyncConnection, tenant_id: str, transaction_id: str) -> int | None:
    """The call's created_date; its row locked, so one call's evaluations are written one
    at a time and an evaluator's concurrent re-scores cannot both insert."""
    found = await conn.scalar(
        select(calls.c.created_date)
        .where(
            calls.c.tenant_id == tenant_id,
            calls.c.transaction_id == transaction_id,
            calls.c.is_deleted.is_(False),
        )
        .with_for_update()
    )
    return None if found is None else int(found)


def _check_scores(scores: Sequence[ScoreIn], known: Mapping[str, Row[Any]]) -> None:
    for index, score in enumerate(scores):
        row = known.get(score.criteria_id)
        if row is None:
            _problem("unknown_criteria", _at(index, "criteria_id"))
        if not row.active:
            _problem("criteria_inactive", _at(index, "criteria_id"))
        if not 0 <= score.score <= row.max_score:
            _problem("score_out_of_range", _at(index, "score"))


async def add(
    conn: AsyncConnection, tenant_id: str, transaction_id: str, new: EvaluationIn
) -> bool:
    """Store the evaluator's evaluation of the call; True when it is their first."""
    call_created = await _lock_call(conn, tenant_id, transaction_id)
    if call_created is None:
        raise ApiError(404, "transaction_not_found")
    evaluator = await find_evaluator(conn, tenant_id, new.user_uuid)
    if evaluator is None:
        _problem("evaluator_not_found", "user_uuid")
    known = await criteria.by_ids(conn, tenant_id, [s.criteria_id for s in new.scores])
    _check_scores(new.scores, known)
    # Stored in the form's order, whatever order the client sent them in.
    ordered = sorted(new.scores, key=lambda s: (known[s.criteria_id].position, s.criteria_id))
    score = weighted_percentage(
        (s.score, known[s.criteria_id].max_score, known[s.criteria_id].weight) for s in ordered
    )
    changed_at = now_ms()
    evaluation_id, created = await _upsert(
        conn,
        tenant_id,
        transaction_id,
        {
            "call_created_date": call_created,
            "evaluator_id": evaluator.id,
            "evaluator_name": evaluator.full_name,
            "evaluator_email": evaluator.email,
            "evaluator_user_uuid": evaluator.user_uuid,
            "evaluator_sip_user": evaluator.sip_user,
            "note": new.note,
            "score": score,
            "last_updated_date": changed_at,
        },
    )
    await conn.execute(
        call_evaluation_scores.insert(),
        [
            {
                "tenant_id": tenant_id,
                "transaction_id": transaction_id,
                "evaluation_id": evaluation_id,
                "criteria_id": s.criteria_id,
                "position": index,
                "criteria_name": known[s.criteria_id].name,
                "max_score": known[s.criteria_id].max_score,
                "weight": known[s.criteria_id].weight,
                "score": s.score,
                "note": s.note,
            }
            for index, s in enumerate(ordered)
        ],
    )
    # The call's answer changed: clients that sync on last_updated_date see it.
    await conn.execute(
        update(calls)
        .where(calls.c.tenant_id == tenant_id, calls.c.transaction_id == transaction_id)
        .values(last_updated_date=changed_at)
    )
    return created


async def _upsert(
    conn: AsyncConnection, tenant_id: str, transaction_id: str, values: dict[str, Any]
) -> tuple[str, bool]:
    """The evaluator's evaluation row, replaced in place (scores cleared) if there is one."""
    key = (
        call_evaluations.c.tenant_id == tenant_id,
        call_evaluations.c.transaction_id == transaction_id,
    )
    existing = await conn.scalar(
        select(call_evaluations.c.id).where(
            *key, call_evaluations.c.evaluator_id == values["evaluator_id"]
        )
    )
    if existing is None:
        evaluation_id = new_id()
        await conn.execute(
            call_evaluations.insert().values(
                tenant_id=tenant_id,
                transaction_id=transaction_id,
                id=evaluation_id,
                created_date=values["last_updated_date"],
                **values,
            )
        )
        return evaluation_id, True
    await conn.execute(
        update(call_evaluations).where(*key, call_evaluations.c.id == existing).values(**values)
    )
    await conn.execute(
        delete(call_evaluation_scores).where(
            call_evaluation_scores.c.tenant_id == tenant_id,
            call_evaluation_scores.c.transaction_id == transaction_id,
            call_evaluation_scores.c.evaluation_id == existing,
        )
    )
    return str(existing), False
