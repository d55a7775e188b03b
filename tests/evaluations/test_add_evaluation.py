"""add_evaluation: scoring a call, re-scoring, several evaluators, and every refusal."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.schema import agents
from tests.evaluations.support import ADD, CRITERIA, DETAIL, evaluate, make_criterion, problem
from tests.factories import Agent, Tenant, add_agent, add_call, make_tenant, window


async def _setup(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> tuple[Tenant, Agent, Agent, str, list[dict[str, Any]]]:
    t = await make_tenant(engine)
    agent = await add_agent(engine, t, "Nguyễn Thị Hoa", "201")
    supervisor = await add_agent(engine, t, "Trần Quản Lý", "900", email="QL@Example.vn")
    tx = await add_call(engine, t, agents_on_call=[agent])
    criteria = [
        await make_criterion(client, t, "Chào khách", 5, weight=1),
        await make_criterion(client, t, "Xác minh danh tính", 10, weight=3),
    ]
    return t, agent, supervisor, tx, criteria


async def test_scoring_answers_the_call_with_its_evaluation(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t, _, supervisor, tx, (greet, verify) = await _setup(engine, client)
    before = (await client.get(DETAIL.format(tx), headers=t.headers)).json()["payload"]
    assert (before["evaluations"], before["total_evaluate"]) == (None, None)
    # sent in another order than the form's: stored in the form's order
    r = await evaluate(
        client, t, tx, supervisor.user_uuid, [(verify["id"], 7.5), (greet["id"], 4)], "Tốt"
    )
    assert r.status_code == 201, r.text
    p = r.json()["payload"]
    assert p["last_updated_date"] > before["last_updated_date"]
    (e,) = p["evaluations"]
    expected = round(100 * (1 * 4 / 5 + 3 * 7.5 / 10) / 4, 2)  # weighted percentage
    assert e == {
        "id": e["id"],
        "evaluator": {
            "id": supervisor.id,
            "full_name": "Trần Quản Lý",
            "email": "ql@example.vn",
            "user_uuid": supervisor.user_uuid,
            "sip_user": "900",
        },
        "criteria": [
            {
                "criteria_id": greet["id"],
                "name": "Chào khách",
                "score": 4,
                "max_score": 5,
                "weight": 1,
                "note": None,
            },
            {
                "criteria_id": verify["id"],
                "name": "Xác minh danh tính",
                "score": 7.5,
                "max_score": 10,
                "weight": 3,
                "note": None,
            },
        ],
        "note": "Tốt",
        "score": expected,
        "total_score": 11.5,
        "max_score": 15,
        "created_date": e["created_date"],
        "last_updated_date": e["created_date"],
    }
    assert p["total_evaluate"] == {"average_score": expected, "count": 1}
    assert p == (await client.get(DETAIL.format(tx), headers=t.headers)).json()["payload"]


@pytest.mark.parametrize("key", ["user_uuid", "sip_user", "email", "extension_as_number"])
async def test_the_evaluator_is_named_by_id_extension_or_email(
    engine: AsyncEngine, client: httpx.AsyncClient, key: str
) -> None:
    t, _, supervisor, tx, (greet, _) = await _setup(engine, client)
    named: Any = {
        "user_uuid": supervisor.user_uuid,
        "sip_user": supervisor.sip_user,
        "email": "ql@EXAMPLE.vn",
        "extension_as_number": int(supervisor.sip_user),
    }[key]
    body = {
        "user_uuid": named,
        "evaluation": {"criteria": [{"criteria_id": greet["id"], "score": 5}]},
    }
    r = await client.post(ADD.format(tx), json=body, headers=t.headers)
    assert r.status_code == 201, r.text
    assert r.json()["payload"]["evaluations"][0]["evaluator"]["id"] == supervisor.id


async def test_rescoring_replaces_the_evaluators_own_evaluation(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t, agent, supervisor, tx, (greet, verify) = await _setup(engine, client)
    first = await evaluate(
        client, t, tx, supervisor.user_uuid, [(greet["id"], 1), (verify["id"], 2)]
    )
    again = await evaluate(client, t, tx, supervisor.sip_user, [(greet["id"], 5)], "sửa lại")
    assert (first.status_code, again.status_code) == (201, 200)
    old, new = first.json()["payload"]["evaluations"][0], again.json()["payload"]["evaluations"]
    assert len(new) == 1
    assert new[0]["id"] == old["id"] and new[0]["created_date"] == old["created_date"]
    assert new[0]["last_updated_date"] >= old["last_updated_date"]
    assert [(c["criteria_id"], c["score"]) for c in new[0]["criteria"]] == [(greet["id"], 5)]
    assert (new[0]["note"], new[0]["score"]) == ("sửa lại", 100)
    assert again.json()["payload"]["total_evaluate"] == {"average_score": 100, "count": 1}

    # a second evaluator keeps their own; newest first; the total averages both
    other = await evaluate(client, t, tx, agent.email, [(greet["id"], 2), (verify["id"], 5)])
    assert other.status_code == 201
    both = other.json()["payload"]
    assert [e["evaluator"]["id"] for e in both["evaluations"]] == [agent.id, supervisor.id]
    second = 100 * (2 / 5 + 3 * 5 / 10) / 4  # 47.5
    assert both["total_evaluate"] == {"average_score": round((100 + second) / 2, 2), "count": 2}


async def test_evaluations_show_in_list_and_search_answers(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t, agent, supervisor, tx, (greet, _) = await _setup(engine, client)
    plain = await add_call(engine, t, agents_on_call=[agent], created_date=window()["to_date"] - 1)
    scored = await evaluate(client, t, tx, supervisor.user_uuid, [(greet["id"], 3)])
    detail = scored.json()["payload"]
    listed = await client.get("/api/call_transaction/list", params=window(), headers=t.headers)
    items = {i["transaction_id"]: i for i in listed.json()["payload"]["items"]}
    assert items[tx]["evaluations"] == detail["evaluations"]
    assert items[tx]["total_evaluate"] == {"average_score": 60, "count": 1}
    assert (items[plain]["evaluations"], items[plain]["total_evaluate"]) == (None, None)
    searched = await client.post(
        "/api/call_transaction/search",
        json={**window(), "user_uuids": [agent.sip_user]},
        headers=t.headers,
    )
    found = {i["transaction_id"]: i for i in searched.json()["payload"]["items"]}
    assert found[tx]["evaluations"] == detail["evaluations"]
    assert found[tx]["total_evaluate"] == detail["total_evaluate"]
    assert found[plain]["total_evaluate"] is None


async def test_past_evaluations_keep_a_changed_or_deactivated_criterion(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t, _, supervisor, tx, (greet, verify) = await _setup(engine, client)
    before = await evaluate(
        client, t, tx, supervisor.user_uuid, [(greet["id"], 4), (verify["id"], 5)]
    )
    url = f"{CRITERIA}/{greet['id']}"
    await client.put(
        url, json={"name": "Lời chào", "max_score": 10, "weight": 9}, headers=t.headers
    )
    assert (await client.delete(url, headers=t.headers)).status_code == 200
    after = (await client.get(DETAIL.format(tx), headers=t.headers)).json()["payload"]
    assert after["evaluations"] == before.json()["payload"]["evaluations"]
    assert after["evaluations"][0]["criteria"][0]["name"] == "Chào khách"
    # a new evaluation cannot use it
    refused = await evaluate(client, t, tx, supervisor.user_uuid, [(greet["id"], 1)])
    field = "evaluation.criteria.0.criteria_id"
    assert problem(refused) == (
        400,
        "criteria_inactive",
        [{"field": field, "code": "criteria_inactive"}],
    )
    unchanged = (await client.get(DETAIL.format(tx), headers=t.headers)).json()["payload"]
    assert unchanged["evaluations"] == after["evaluations"]


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "user_uuid": "NV900",
        "evaluation": {"criteria": [{"criteria_id": "GREET", "score": 3}], "note": "ok"},
    }
    body.update(changes)
    return body


def _one(**fields: Any) -> dict[str, Any]:
    return _body(evaluation={"criteria": [{"criteria_id": "GREET", "score": 3, **fields}]})


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"evaluation": {"criteria": []}}, "user_uuid_is_required", None),
        (_body(user_uuid=""), "user_uuid_is_required", None),
        (_body(user_uuid=["x"]), "validation_error", ("user_uuid", "must_be_a_string")),
        (_body(user_uuid=True), "validation_error", ("user_uuid", "must_be_a_string")),
        ({"user_uuid": "NV900"}, "evaluation_is_required", None),
        (_body(evaluation=[]), "validation_error", ("evaluation", "must_be_an_object")),
        (_body(evaluation={}), "validation_error", ("evaluation.criteria", "required")),
        (
            _body(evaluation={"criteria": {"a": 1}}),
            "validation_error",
            ("evaluation.criteria", "must_be_a_list"),
        ),
        (_body(evaluation={"criteria": []}), "validation_error", ("evaluation.criteria", "empty")),
        (
            _body(
                evaluation={"criteria": [{"criteria_id": str(i), "score": 1} for i in range(101)]}
            ),
            "validation_error",
            ("evaluation.criteria", "too_many_items"),
        ),
        (
            _body(evaluation={"criteria": ["GREET"]}),
            "validation_error",
            ("evaluation.criteria.0", "must_be_an_object"),
        ),
        (
            _body(evaluation={"criteria": [{"score": 1}]}),
            "validation_error",
            ("evaluation.criteria.0.criteria_id", "required"),
        ),
        (
            _body(evaluation={"criteria": [{"criteria_id": 5, "score": 1}]}),
            "validation_error",
            ("evaluation.criteria.0.criteria_id", "must_be_a_string"),
        ),
        (
            _body(evaluation={"criteria": [{"criteria_id": "GREET"}]}),
            "validation_error",
            ("evaluation.criteria.0.score", "required"),
        ),
        (_one(score="3"), "validation_error", ("evaluation.criteria.0.score", "must_be_a_number")),
        (_one(score=True), "validation_error", ("evaluation.criteria.0.score", "must_be_a_number")),
        (_one(note=1), "validation_error", ("evaluation.criteria.0.note", "must_be_a_string")),
        (_one(note="n" * 5001), "validation_error", ("evaluation.criteria.0.note", "too_long")),
        (
            _body(evaluation={"criteria": [{"criteria_id": "GREET", "score": 1}], "note": 2}),
            "validation_error",
            ("evaluation.note", "must_be_a_string"),
        ),
        (
            _body(
                evaluation={"criteria": [{"criteria_id": "GREET", "score": 1}], "note": "n" * 5001}
            ),
            "validation_error",
            ("evaluation.note", "too_long"),
        ),
        (
            _body(
                evaluation={
                    "criteria": [
                        {"criteria_id": "GREET", "score": 1},
                        {"criteria_id": "GREET", "score": 2},
                    ]
                }
            ),
            "duplicate_criteria",
            ("evaluation.criteria.1.criteria_id", "duplicate_criteria"),
        ),
        (_body(user_uuid="nobody"), "evaluator_not_found", ("user_uuid", "evaluator_not_found")),
        (
            _body(evaluation={"criteria": [{"criteria_id": "f" * 24, "score": 1}]}),
            "unknown_criteria",
            ("evaluation.criteria.0.criteria_id", "unknown_criteria"),
        ),
        (
            _one(score=5.5),
            "score_out_of_range",
            ("evaluation.criteria.0.score", "score_out_of_range"),
        ),
        (
            _one(score=-1),
            "score_out_of_range",
            ("evaluation.criteria.0.score", "score_out_of_range"),
        ),
        (
            _one(score=10**12),
            "score_out_of_range",
            ("evaluation.criteria.0.score", "score_out_of_range"),
        ),
    ],
)
async def test_add_evaluation_refusals(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    body: dict[str, Any],
    code: str,
    field: tuple[str, str] | None,
) -> None:
    t, _, _, tx, (greet, _) = await _setup(engine, client)
    sent = _swap(body, "GREET", greet["id"])
    r = await client.post(ADD.format(tx), json=sent, headers=t.headers)
    payload = None if field is None else [{"field": field[0], "code": field[1]}]
    assert problem(r) == (400, code, payload)
    detail = (await client.get(DETAIL.format(tx), headers=t.headers)).json()["payload"]
    assert detail["evaluations"] is None


def _swap(value: Any, old: str, new: str) -> Any:
    if value == old:
        return new
    if isinstance(value, dict):
        return {k: _swap(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, old, new) for v in value]
    return value


async def test_bodies_that_are_not_objects(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    t, _, _, tx, _ = await _setup(engine, client)
    empty = await client.post(ADD.format(tx), content=b" ", headers=t.headers)
    assert problem(empty)[:2] == (400, "request_body_required")
    broken = await client.post(ADD.format(tx), content=b"{", headers=t.headers)
    assert problem(broken)[:2] == (400, "invalid_json")


async def test_an_inactive_agent_cannot_evaluate(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t, _, supervisor, tx, (greet, _) = await _setup(engine, client)
    async with engine.begin() as conn:
        await conn.execute(
            update(agents)
            .where(agents.c.tenant_id == t.id, agents.c.id == supervisor.id)
            .values(active=False)
        )
    r = await evaluate(client, t, tx, supervisor.user_uuid, [(greet["id"], 1)])
    assert problem(r)[:2] == (400, "evaluator_not_found")


async def test_tenant_isolation(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    t, _, supervisor, tx, (greet, _) = await _setup(engine, client)
    other, _, _, other_tx, (other_greet, _) = await _setup(engine, client)
    # another tenant's call: 404, exactly like one that does not exist
    for call in (other_tx, "no-such-call"):
        r = await evaluate(client, t, call, supervisor.user_uuid, [(greet["id"], 1)])
        assert problem(r) == (404, "transaction_not_found", None)
    # another tenant's criterion and agent are unknown here
    r = await evaluate(client, t, tx, supervisor.user_uuid, [(other_greet["id"], 1)])
    assert problem(r)[:2] == (400, "unknown_criteria")
    lone = await add_agent(engine, other, "Chỉ ở tenant khác", "777")
    r = await evaluate(client, t, tx, lone.user_uuid, [(greet["id"], 1)])
    assert problem(r)[:2] == (400, "evaluator_not_found")
    # and the other tenant's call stays unevaluated
    d = (await client.get(DETAIL.format(other_tx), headers=other.headers)).json()["payload"]
    assert d["evaluations"] is None
