"""A call's agents, tags and evaluations, read in the call's own statement (as JSON), are
exactly what their tables hold: every value, its type, and the order each answer shows."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.calls import queries
from callhistory.calls.store import tag_ids_for
from callhistory.schema import (
    CALL_OWNER,
    call_evaluation_scores,
    call_evaluations,
    call_tags,
    call_users,
    tags,
)
from tests.evaluations.support import evaluate, make_criterion
from tests.factories import add_agent, add_call, make_tenant


async def _from_the_tables(engine: AsyncEngine, tenant_id: str, tx: str) -> dict[str, Any]:
    """The oracle: each part read on its own, ordered by the database."""
    async with engine.connect() as conn:
        users = (
            await conn.execute(
                select(call_users)
                .where(call_users.c.tenant_id == tenant_id, call_users.c.transaction_id == tx)
                .order_by(call_users.c.position)
            )
        ).all()
        owned = (
            await conn.execute(
                select(call_tags.c.user_position, tags.c.id, tags.c.name)
                .join(
                    tags,
                    (tags.c.tenant_id == call_tags.c.tenant_id) & (tags.c.id == call_tags.c.tag_id),
                )
                .where(call_tags.c.tenant_id == tenant_id, call_tags.c.transaction_id == tx)
                .order_by(call_tags.c.user_position, call_tags.c.position)
            )
        ).all()
        e, s = call_evaluations, call_evaluation_scores
        scored = (
            await conn.execute(
                select(e, s.c.criteria_id, s.c.criteria_name, s.c.score.label("s_score"))
                .add_columns(s.c.max_score, s.c.weight, s.c.note.label("s_note"))
                .join(s, (s.c.evaluation_id == e.c.id) & (s.c.transaction_id == e.c.transaction_id))
                .where(e.c.tenant_id == tenant_id, e.c.transaction_id == tx)
                .order_by(e.c.last_updated_date.desc(), e.c.id, s.c.position)
            )
        ).all()
    evaluations: dict[str, dict[str, Any]] = {}
    for r in scored:
        found = evaluations.setdefault(
            r.id,
            {
                "evaluator": (r.evaluator_id, r.evaluator_name, r.evaluator_email),
                "who": (r.evaluator_user_uuid, r.evaluator_sip_user),
                "note": r.note,
                "score": r.score,
                "dates": (r.created_date, r.last_updated_date),
                "scores": [],
            },
        )
        found["scores"].append(
            (r.criteria_id, r.criteria_name, r.s_score, r.max_score, r.weight, r.s_note)
        )
    return {
        "users": [tuple(u)[1:] for u in users],  # all but tenant_id
        "tags": [(t.id, t.name) for t in owned if t.user_position == CALL_OWNER],
        "user_tags": {
            u.position: [(t.id, t.name) for t in owned if t.user_position == u.position]
            for u in users
        },
        "evaluations": list(evaluations.values()),
    }


def _typed(value: Any) -> Any:
    """Every leaf with its type: 1 == 1.0 == True would hide a value read back as another."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


def _as_read(view: queries.CallView) -> dict[str, Any]:
    return {
        "users": [tuple(u.row) for u in view.users],
        "tags": view.tags,
        "user_tags": {u.position: u.tags for u in view.users},
        "evaluations": [
            {
                "evaluator": (ev.evaluator.id, ev.evaluator.full_name, ev.evaluator.email),
                "who": (ev.evaluator.user_uuid, ev.evaluator.sip_user),
                "note": ev.note,
                "score": ev.score,
                "dates": (ev.created_date, ev.last_updated_date),
                "scores": [
                    (s.criteria_id, s.name, s.score, s.max_score, s.weight, s.note)
                    for s in ev.scores
                ],
            }
            for ev in view.evaluations
        ],
    }


async def _tag(engine: AsyncEngine, tenant_id: str, tx: str, owner: int, names: list[str]) -> None:
    async with engine.begin() as conn:
        ids = await tag_ids_for(conn, tenant_id, names)
        created = (
            await conn.execute(
                select(call_users.c.created_date).where(call_users.c.transaction_id == tx)
            )
        ).scalar()
        await conn.execute(
            insert(call_tags),
            [
                {
                    "tenant_id": tenant_id,
                    "transaction_id": tx,
                    "user_position": owner,
                    "tag_id": tag_id,
                    "position": n,
                    "created_date": created,
                }
                for n, tag_id in enumerate(ids)
            ],
        )


async def test_a_calls_parts_read_with_it_are_the_tables_own(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(engine)
    # three agents, listed out of their names' order; the last with no email
    on_call = [
        await add_agent(engine, t, "Trần Thị Zung", "203"),
        await add_agent(engine, t, "Âu Văn A", "201"),
        await add_agent(engine, t, "Ngô Bé", "202"),
    ]
    tx = await add_call(engine, t, agents_on_call=on_call, tags=["zeta", "Alpha", "mũi"])
    other = await add_call(engine, t, agents_on_call=on_call[:1])  # a call with no tags
    # tags given out of their names' order, to the second and third agents
    await _tag(engine, t.id, tx, 2, ["thứ ba", "b", "a"])
    await _tag(engine, t.id, tx, 1, ["một"])
    # weights and scores whose percentages have 17 significant digits
    form = [
        await make_criterion(client, t, name, max_score, weight=weight)
        for name, max_score, weight in (("Chào", 3, 0.1), ("Nghe", 7, 0.7), ("Hỏi", 9, 1.3))
    ]
    for n, evaluator in enumerate(on_call):
        scores = [(c["id"], (n + k) % 4 + 0.5) for k, c in enumerate(form)]
        r = await evaluate(client, t, tx, evaluator.user_uuid, scores, note=f"lần {n}")
        assert r.status_code == 201, r.text

    expected = await _from_the_tables(engine, t.id, tx)
    assert len(expected["users"]) == 3 and len(expected["evaluations"]) == 3
    assert any(len(repr(e["score"])) >= 17 for e in expected["evaluations"])
    async with engine.connect() as conn:
        alone = await queries.one(conn, t.id, tx)
        both = await queries.by_ids(conn, t.id, [other, tx])
    assert alone is not None
    assert _typed(_as_read(alone)) == _typed(expected)
    assert [_typed(_as_read(v)) for v in both if v.row.transaction_id == tx] == [_typed(expected)]
    bare = [v for v in both if v.row.transaction_id == other]
    assert _typed(_as_read(bare[0])) == _typed(await _from_the_tables(engine, t.id, other))
    assert bare[0].tags == [] and bare[0].evaluations == []
