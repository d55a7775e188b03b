"""`GET /api/stats/agents` and `/api/stats/queues` on a hand-counted center, buckets in
the tenant's zone (daylight saving included), agents' keys and other tenants."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth import keys
from callhistory.calls.params import HOUR_MS
from callhistory.stats.buckets import DAY_MS, QUARTER_MS, Step, bucket_start, sql_step
from tests.evaluations.support import evaluate, make_criterion
from tests.factories import Tenant, add_agent, add_call, make_tenant

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
AGENTS = "/api/stats/agents"
QUEUES = "/api/stats/queues"


def at(day: datetime, hour: int, minute: int) -> int:
    return int(day.replace(hour=hour, minute=minute).timestamp() * 1000)


class Center:
    tenant: Tenant
    window: dict[str, int]
    day: datetime
    lan_key: dict[str, str]


@pytest.fixture
async def center(engine: AsyncEngine, client: httpx.AsyncClient) -> Center:
    tenant = await make_tenant(engine, "stats")
    lan = await add_agent(engine, tenant, "Trần Thị Lan", "101", "lan@stats.vn")
    minh = await add_agent(engine, tenant, "Phạm Văn Minh", "102", "minh@stats.vn")
    boss = await add_agent(engine, tenant, "Giám Sát", "909", "boss@stats.vn")
    day = (datetime.now(ZONE) - timedelta(days=3)).replace(second=0, microsecond=0)
    answered_by_lan = await add_call(
        engine,
        tenant,
        created_date=at(day, 9, 10),
        agents_on_call=[lan],
        bill_sec=60,
        hold_call_sec=10,
        wait_sec=5,
        queue_destination="8001",
    )
    await add_call(  # Minh answered; Lan was rung too
        engine,
        tenant,
        created_date=at(day, 9, 50),
        agents_on_call=[minh, lan],
        bill_sec=120,
        wait_sec=20,
        queue_destination="8001",
    )
    await add_call(  # nobody answered
        engine,
        tenant,
        created_date=at(day, 10, 5),
        agents_on_call=[lan],
        disposition="cancelled",
        wait_sec=30,
        queue_destination="8001",
    )
    await add_call(
        engine,
        tenant,
        created_date=at(day + timedelta(days=1), 8, 0),
        agents_on_call=[lan],
        direction="outbound",
        bill_sec=30,
    )
    criterion = await make_criterion(client, tenant, "Chào khách", 10)
    for score in (8, 6):  # two evaluations of Lan's call: 80 % and 60 %
        scorer = boss if score == 8 else minh
        r = await evaluate(
            client, tenant, answered_by_lan, scorer.user_uuid, [(criterion["id"], score)]
        )
        assert r.status_code == 201, r.text
    async with engine.begin() as conn:
        _, lan_key = await keys.create_key(conn, tenant.id, "lan", lan.id)
    found = Center()
    found.tenant, found.day, found.lan_key = tenant, day, {"x-api-key": lan_key}
    found.window = {"from_date": at(day, 0, 0), "to_date": at(day + timedelta(days=2), 0, 0)}
    return found


async def _items(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], **query: Any
) -> list[dict[str, Any]]:
    r = await client.get(path, params=query, headers=headers)
    assert r.status_code == 200, r.text
    payload = r.json()["payload"]
    assert payload["time_zone"] == "Asia/Ho_Chi_Minh"
    items: list[dict[str, Any]] = payload["items"]
    return items


async def test_each_agents_figures_as_counted_by_hand(
    client: httpx.AsyncClient, center: Center
) -> None:
    items = await _items(client, AGENTS, center.tenant.headers, **center.window)
    by_email = {i["agent"]["email"]: i for i in items}
    assert [i["agent"]["email"] for i in items] == [
        "lan@stats.vn",
        "minh@stats.vn",
    ]  # busiest first
    assert by_email["lan@stats.vn"]["agent"]["full_name"] == "Trần Thị Lan"
    assert by_email["lan@stats.vn"]["totals"] == {
        "calls": 4,
        "inbound": 3,
        "outbound": 1,
        "answered": 2,
        "missed": 2,
        "answer_rate": 33.33,
        "talk_sec": 90,
        "average_handle_sec": 50.0,
        "average_wait_sec": 18.33,
        "average_score": 70.0,
    }
    assert by_email["minh@stats.vn"]["totals"] == {
        "calls": 1,
        "inbound": 1,
        "outbound": 0,
        "answered": 1,
        "missed": 0,
        "answer_rate": 100.0,
        "talk_sec": 120,
        "average_handle_sec": 120.0,
        "average_wait_sec": 20.0,
        "average_score": None,
    }
    assert all(i["buckets"] == [] for i in items)  # no interval: totals only
    only = await _items(
        client, AGENTS, center.tenant.headers, **center.window, agents="minh@stats.vn"
    )
    assert [i["agent"]["email"] for i in only] == ["minh@stats.vn"]


async def test_buckets_are_the_tenants_local_hours_days_and_weeks(
    client: httpx.AsyncClient, center: Center
) -> None:
    def lan(items: list[dict[str, Any]]) -> list[tuple[int, int]]:
        (line,) = [i for i in items if i["agent"]["email"] == "lan@stats.vn"]
        return [(b["start"], b["calls"]) for b in line["buckets"]]

    day, next_day = center.day, center.day + timedelta(days=1)
    hours = await _items(client, AGENTS, center.tenant.headers, **center.window, interval="hour")
    assert lan(hours) == [(at(day, 9, 0), 2), (at(day, 10, 0), 1), (at(next_day, 8, 0), 1)]
    days = await _items(client, AGENTS, center.tenant.headers, **center.window, interval="day")
    assert lan(days) == [(at(day, 0, 0), 3), (at(next_day, 0, 0), 1)]
    weeks = await _items(client, AGENTS, center.tenant.headers, **center.window, interval="week")
    monday = lambda d: at(d - timedelta(days=d.weekday()), 0, 0)  # noqa: E731
    expected: dict[int, int] = {}
    for moment, n in ((day, 3), (next_day, 1)):
        expected[monday(moment)] = expected.get(monday(moment), 0) + n
    assert lan(weeks) == sorted(expected.items())
    (line,) = [i for i in hours if i["agent"]["email"] == "lan@stats.vn"]
    assert line["buckets"][0]["answered"] == 1 and line["buckets"][0]["missed"] == 1


def test_daylight_saving_days_have_their_own_hours() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 2026-10-25: 03:00 summer time becomes 02:00 winter time; 02:00-03:00 happens twice
    first = int(datetime(2026, 10, 25, 0, 30, tzinfo=ZoneInfo("UTC")).timestamp() * 1000)
    second = first + 3_600_000
    starts = {bucket_start(at, berlin, "hour") for at in (first, second)}
    assert len(starts) == 2  # the two 02:xx hours are two buckets
    days = {bucket_start(at, berlin, "day") for at in (first, second)}
    assert days == {int(datetime(2026, 10, 25, tzinfo=berlin).timestamp() * 1000)}
    # SQL groups by local days where the window keeps one whole-hour offset, by UTC
    # hours across a daylight-saving change, by quarter-hours for India's +05:30
    week = (first, first + 7 * DAY_MS)
    assert sql_step(berlin, *week, "day") == Step(HOUR_MS)
    assert sql_step(berlin, first + DAY_MS, first + 8 * DAY_MS, "week") == Step(DAY_MS, HOUR_MS)
    assert sql_step(ZONE, *week, "day") == Step(DAY_MS, 7 * HOUR_MS)
    assert sql_step(ZONE, *week, "hour") == Step(HOUR_MS)
    assert sql_step(ZoneInfo("Asia/Kolkata"), *week, "day") == Step(QUARTER_MS)
    assert sql_step(ZONE, *week, None) is None
    # a local day's step starts at its local midnight
    assert Step(DAY_MS, 7 * HOUR_MS).slot(first) == bucket_start(first, ZONE, "day")


async def test_queues(client: httpx.AsyncClient, center: Center) -> None:
    (queue,) = await _items(client, QUEUES, center.tenant.headers, **center.window)
    assert queue["queue"] == "8001"
    assert queue["totals"] == {
        "calls": 3,
        "inbound": 3,
        "outbound": 0,
        "answered": 2,
        "missed": 1,
        "answer_rate": 66.67,
        "talk_sec": 180,
        "average_handle_sec": 95.0,
        "average_wait_sec": 18.33,
        "average_score": 70.0,
    }
    none = await _items(
        client, QUEUES, center.tenant.headers, **center.window, queue_destination="9999"
    )
    assert none == []


async def test_agents_keys_other_tenants_and_bad_input(
    client: httpx.AsyncClient, engine: AsyncEngine, center: Center
) -> None:
    mine = await _items(client, AGENTS, center.lan_key, **center.window)
    assert [i["agent"]["email"] for i in mine] == ["lan@stats.vn"]
    refused = await client.get(QUEUES, params=center.window, headers=center.lan_key)
    assert (refused.status_code, refused.json()["message"]) == (403, "agent_key_not_allowed")
    other = await make_tenant(engine)
    assert await _items(client, AGENTS, other.headers, **center.window) == []
    assert await _items(client, QUEUES, other.headers, **center.window) == []
    bad = await client.get(
        AGENTS, params={**center.window, "interval": "month"}, headers=center.tenant.headers
    )
    assert (bad.status_code, bad.json()["payload"]) == (
        400,
        [{"field": "interval", "code": "invalid_choice"}],
    )
    long = {
        "from_date": center.window["from_date"] - 100 * 86_400_000,
        "to_date": center.window["to_date"],
    }
    too_long = await client.get(AGENTS, params=long, headers=center.tenant.headers)
    assert too_long.json()["message"] == "date_is_too_long"
    spelled = await client.get(
        AGENTS, params={**center.window, "agents[]": "lan@stats.vn"}, headers=center.tenant.headers
    )
    assert [i["agent"]["email"] for i in spelled.json()["payload"]["items"]] == ["lan@stats.vn"]
