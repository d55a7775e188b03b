"""The quality report, checked against the same averages computed here from what was sent."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from statistics import mean
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.evaluations.support import CRITERIA, REPORT, evaluate, make_criterion, problem
from tests.factories import DAY_MS, Agent, Tenant, add_agent, add_call, make_tenant, now_ms, window

Scores = dict[str, float]  # criteria id -> score


@dataclass
class World:
    tenant: Tenant
    agents: list[Agent]
    form: dict[str, dict[str, Any]]  # criteria id -> criterion
    on_call: dict[str, set[str]] = field(default_factory=dict)  # call -> agent ids
    evaluations: dict[tuple[str, str], Scores] = field(default_factory=dict)  # (call, evaluator)


def _percentage(world: World, scores: Scores) -> float:
    form = world.form
    weights = sum(form[c]["weight"] for c in scores)
    shares = sum(form[c]["weight"] * s / form[c]["max_score"] for c, s in scores.items())
    return 100 * shares / weights


def _expected_part(world: World, chosen: list[tuple[str, Scores]]) -> dict[str, Any]:
    per_criterion = {}
    for cid in world.form:
        given = [scores[cid] for _, scores in chosen if cid in scores]
        if given:
            per_criterion[cid] = {
                "count": len(given),
                "average_score": mean(given),
                "average_percentage": mean(100 * s / world.form[cid]["max_score"] for s in given),
            }
    return {
        "evaluated_calls": len({call for call, _ in chosen}),
        "evaluations": len(chosen),
        "average_score": mean(_percentage(world, s) for _, s in chosen) if chosen else None,
        "criteria": per_criterion,
    }


def expected(world: World, emails: set[str] | None = None) -> dict[str, Any]:
    """Each evaluation counts for every agent on its call; overall, each counts once."""
    wanted = {a.id for a in world.agents if emails is None or a.email in emails}
    chosen = [
        (call, scores)
        for (call, _), scores in world.evaluations.items()
        if world.on_call[call] & wanted
    ]
    agents = {}
    for agent_id in sorted(wanted):
        mine = [(call, s) for call, s in chosen if agent_id in world.on_call[call]]
        if mine:
            agents[agent_id] = _expected_part(world, mine)
    return {"overall": _expected_part(world, chosen), "agents": agents}


def _close(answer: dict[str, Any], want: dict[str, Any]) -> None:
    for key in ("evaluated_calls", "evaluations"):
        assert answer[key] == want[key]
    assert answer["average_score"] == pytest.approx(want["average_score"], abs=0.006)
    got = {c["criteria_id"]: c for c in answer["criteria"]}
    assert set(got) == set(want["criteria"])
    for cid, averages in want["criteria"].items():
        assert got[cid]["count"] == averages["count"]
        for key in ("average_score", "average_percentage"):
            assert got[cid][key] == pytest.approx(averages[key], abs=0.006)


def check(report: dict[str, Any], want: dict[str, Any]) -> None:
    _close(report, want["overall"])
    assert [a["agent_id"] for a in report["agents"]] == [
        a["agent_id"] for a in sorted(report["agents"], key=lambda a: a["full_name"])
    ]
    assert {a["agent_id"] for a in report["agents"]} == set(want["agents"])
    for agent in report["agents"]:
        _close(agent, want["agents"][agent["agent_id"]])


async def _world(engine: AsyncEngine, client: httpx.AsyncClient, seed: int) -> World:
    rng = random.Random(seed)
    t = await make_tenant(engine)
    people = [
        await add_agent(engine, t, name, ext)
        for name, ext in (("An", "401"), ("Bình", "402"), ("Chi", "403"))
    ]
    bosses = [await add_agent(engine, t, f"Giám sát {i}", f"90{i}") for i in range(2)]
    form = [
        await make_criterion(client, t, "Chào", 5, weight=1),
        await make_criterion(client, t, "Xác minh", 10, weight=2),
        await make_criterion(client, t, "Kết thúc", 4, weight=1.5),
    ]
    world = World(t, people, {c["id"]: c for c in form})
    teams = [[people[0]], [people[1]], [people[0], people[1]], [people[2], people[0]]]
    for i in range(14):
        team = teams[i % len(teams)]
        call = await add_call(
            engine, t, agents_on_call=team, created_date=now_ms() - DAY_MS - i * 60_000
        )
        world.on_call[call] = {a.id for a in team}
        for boss in rng.sample(bosses, rng.randint(1, 2)):
            for _ in range(rng.randint(1, 2)):  # sometimes re-scored: the last one counts
                picked = rng.sample(form, rng.randint(1, 3))
                scores = {c["id"]: rng.randint(0, c["max_score"] * 2) / 2 for c in picked}
                r = await evaluate(client, t, call, boss.sip_user, list(scores.items()))
                assert r.status_code in (200, 201), r.text
                world.evaluations[(call, boss.id)] = scores
    return world


async def test_report_matches_an_independent_computation(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    world = await _world(engine, client, seed=7)
    t = world.tenant
    # outside the window: counted nowhere
    old = await add_call(engine, t, agents_on_call=world.agents[:1], created_date=1_000_000)
    r = await evaluate(client, t, old, "900", [(next(iter(world.form)), 1)])
    assert r.status_code == 201
    # a deactivated criterion stays in the report, marked so
    deactivated = list(world.form)[2]
    await client.delete(f"{CRITERIA}/{deactivated}", headers=t.headers)

    r = await client.get(REPORT, params=window(), headers=t.headers)
    assert r.status_code == 200, r.text
    report = r.json()["payload"]
    assert set(report) == {
        "from_date",
        "to_date",
        "evaluated_calls",
        "evaluations",
        "average_score",
        "criteria",
        "agents",
    }
    check(report, expected(world))
    criteria = {c["criteria_id"]: c for c in report["criteria"]}
    assert criteria[deactivated]["active"] is False
    assert [c["name"] for c in report["criteria"]] == ["Chào", "Xác minh", "Kết thúc"]
    an = next(a for a in report["agents"] if a["full_name"] == "An")
    assert (an["email"], an["sip_user"], an["user_uuid"]) == ("401@example.vn", "401", "NV401")

    chosen = world.agents[1].email
    r = await client.get(REPORT, params={**window(), "agents": chosen.upper()}, headers=t.headers)
    check(r.json()["payload"], expected(world, {chosen}))


async def test_an_empty_window_and_another_tenant(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    world = await _world(engine, client, seed=11)
    stranger = await make_tenant(engine)
    for headers, params in (
        (stranger.headers, window()),
        (world.tenant.headers, {"from_date": 0, "to_date": DAY_MS}),
    ):
        r = await client.get(REPORT, params=params, headers=headers)
        assert r.json()["payload"] == {
            **params,
            "evaluated_calls": 0,
            "evaluations": 0,
            "average_score": None,
            "criteria": [],
            "agents": [],
        }


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"to_date": 1}, "from_date_is_required"),
        ({"from_date": 1}, "to_date_is_required"),
        ({"from_date": "x", "to_date": 1}, "date_invalid"),
        ({"from_date": 5, "to_date": 1}, "date_invalid"),
        ({"from_date": 0, "to_date": 31 * DAY_MS}, "date_is_too_long"),
    ],
)
async def test_report_window_errors(
    engine: AsyncEngine, client: httpx.AsyncClient, params: dict[str, Any], code: str
) -> None:
    t = await make_tenant(engine)
    r = await client.get(REPORT, params=params, headers=t.headers)
    assert problem(r) == (400, code, None)
