"""What ingest answers (a leg stored, a batch's report, rejections), for OpenAPI.

Descriptions of the dicts the routes answer, never used to build them: see
callhistory.answers for why and how they are checked.
"""

from __future__ import annotations

from typing import Literal

from callhistory.answers import ItemStatus, Problem, Shape


class LegStored(Shape):
    transaction_id: str
    leg_uuid: str
    status: Literal["stored", "updated", "unchanged"]


class BatchResult(Shape):
    index: int
    transaction_id: str | None
    status: ItemStatus
    errors: list[Problem]


class BatchReport(Shape):
    results: list[BatchResult]
    stored: int
    updated: int
    unchanged: int
    rejected: int


class Rejection(Shape):
    id: str
    received_at: int
    source: str
    reason: str
    detail: str
    content_type: str
    query: str
    body: str
    replayed_at: int | None
