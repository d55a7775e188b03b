"""Criteria and evaluations made through the API, as a supervisor would make them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import Tenant

CRITERIA = "/api/evaluation_criteria/call"
CRITERIA_LIST = f"{CRITERIA}/list"
ADD = "/api/call_transaction/add_evaluation/{}"
DETAIL = "/api/call_transaction/detail/{}"
REPORT = "/api/evaluations/report"


async def make_criterion(
    client: httpx.AsyncClient, t: Tenant, name: str, max_score: int = 5, **fields: Any
) -> dict[str, Any]:
    r = await client.post(
        CRITERIA, json={"name": name, "max_score": max_score, **fields}, headers=t.headers
    )
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()["payload"]
    return created


async def evaluate(
    client: httpx.AsyncClient,
    t: Tenant,
    transaction_id: str,
    evaluator: str,
    scores: list[tuple[str, float]],
    note: str | None = None,
) -> httpx.Response:
    body = {
        "user_uuid": evaluator,
        "evaluation": {
            "criteria": [{"criteria_id": cid, "score": score} for cid, score in scores],
            "note": note,
        },
    }
    return await client.post(ADD.format(transaction_id), json=body, headers=t.headers)


def problem(r: httpx.Response) -> tuple[int, str, Any]:
    body = r.json()
    assert body["status_code"] == -9999
    return r.status_code, body["message"], body["payload"]
