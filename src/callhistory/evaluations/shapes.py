"""The answers' evaluation shapes: a call's `evaluations`, `total_evaluate`, a criterion."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.engine import Row

from callhistory.evaluations.queries import Evaluation, Score


def number(value: float) -> int | float:
    """Whole numbers as integers (4, not 4.0): scores and weights are mostly typed so."""
    return int(value) if float(value).is_integer() else value


def rounded(value: float) -> int | float:
    return number(round(value, 2))


def weighted_percentage(scores: Iterable[tuple[float, float, float]]) -> float:
    """(score, max_score, weight) triples -> the weighted share of the maximum, 0..100."""
    parts = [(score / maximum, weight) for score, maximum, weight in scores]
    total_weight = sum(weight for _, weight in parts)
    if not total_weight:
        return 0.0
    return 100 * sum(share * weight for share, weight in parts) / total_weight


def criterion(row: Row[Any]) -> dict[str, Any]:
    """The contract's criterion: id, name, description, max_score, weight, active."""
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "max_score": row.max_score,
        "weight": number(row.weight),
        "active": row.active,
    }


def _score(score: Score) -> dict[str, Any]:
    return {
        "criteria_id": score.criteria_id,
        "name": score.name,
        "score": number(score.score),
        "max_score": score.max_score,
        "weight": number(score.weight),
        "note": score.note,
    }


def evaluation(e: Evaluation) -> dict[str, Any]:
    return {
        "id": e.id,
        "evaluator": {
            "id": e.evaluator.id,
            "full_name": e.evaluator.full_name,
            "email": e.evaluator.email,
            "user_uuid": e.evaluator.user_uuid,
            "sip_user": e.evaluator.sip_user,
        },
        "criteria": [_score(s) for s in e.scores],
        "note": e.note,
        "score": rounded(e.score),
        "total_score": rounded(sum(s.score for s in e.scores)),
        "max_score": sum(s.max_score for s in e.scores),
        "created_date": e.created_date,
        "last_updated_date": e.last_updated_date,
    }


def evaluations(found: Sequence[Evaluation]) -> list[dict[str, Any]] | None:
    """All of a call's evaluations, newest first; null when it has none, as the source."""
    return [evaluation(e) for e in found] or None


def total_evaluate(found: Sequence[Evaluation]) -> dict[str, Any] | None:
    """The average of the evaluations' weighted percentages, and how many there are."""
    if not found:
        return None
    return {
        "average_score": rounded(sum(e.score for e in found) / len(found)),
        "count": len(found),
    }
