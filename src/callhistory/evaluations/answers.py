"""Criteria, evaluations and the evaluations report, as the OpenAPI document declares them.

Descriptions of the dicts the routes answer, never used to build them: see
callhistory.answers for why and how they are checked.
"""

from __future__ import annotations

from pydantic import Field

from callhistory.answers import Shape


class Evaluator(Shape):
    id: str
    full_name: str
    email: str | None
    user_uuid: str | None
    sip_user: str | None


class Score(Shape):
    criteria_id: str
    name: str
    score: float
    max_score: int
    weight: float
    note: str | None


class Evaluation(Shape):
    id: str
    evaluator: Evaluator
    criteria: list[Score]
    note: str | None
    score: float = Field(description="Weighted percentage of the maximum, 0..100.")
    total_score: float
    max_score: int
    created_date: int
    last_updated_date: int


class TotalEvaluate(Shape):
    average_score: float
    count: int


class Criterion(Shape):
    id: str
    name: str
    description: str
    max_score: int
    weight: float
    active: bool


class CriterionAverages(Shape):
    criteria_id: str
    name: str
    count: int
    average_score: float
    average_percentage: float


class ReportCriterion(CriterionAverages):
    max_score: int
    weight: float
    active: bool


class ReportAgent(Shape):
    agent_id: str
    full_name: str | None
    email: str | None
    sip_user: str | None
    user_uuid: str | None
    evaluated_calls: int
    evaluations: int
    average_score: float | None
    criteria: list[CriterionAverages]


class EvaluationReport(Shape):
    from_date: int
    to_date: int
    evaluated_calls: int
    evaluations: int
    average_score: float | None
    criteria: list[ReportCriterion]
    agents: list[ReportAgent]
