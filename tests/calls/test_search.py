"""POST search: body filters, the full item shape, camelCase paging."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.schema import tags
from tests.factories import add_agent, add_call, make_tenant, window

SEARCH = "/api/call_transaction/search"


async def test_search_by_agent_with_the_full_shape(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(engine)
    a = await add_agent(engine, t, "Hoàng Thu Trang", "120")
    other = await add_agent(engine, t, "Bùi Chí Hậu", "121")
    mine = await add_call(
        engine,
        t,
        agents_on_call=[a],
        hangup_cause="NORMAL_CLEARING",
        hangup_cause_q850=16,
        wait_sec=7,
        rtp_audio_in_mos=4.4,
        dial_status="ANSWER",
        time_start_call=1_700_000_000,
    )
    await add_call(engine, t, agents_on_call=[other])
    r = await client.post(
        SEARCH,
        params={"page": 1, "size": 20},
        json={**window(), "user_uuids": [a.user_uuid]},
        headers=t.headers,
    )
    assert r.status_code == 200, r.text
    p = r.json()["payload"]
    assert (p["pageNumber"], p["pageSize"], p["totalItems"], p["totalPages"]) == (1, 20, 1, 1)
    assert (p["hasNext"], p["nextPage"], p["hasPrevious"], p["previousPage"]) == (
        False,
        1,
        False,
        1,
    )
    item = p["items"][0]
    assert item["transaction_id"] == mine and item["tenant_id"] == t.id and len(item["_id"]) == 24
    assert item["hangup_cause"] == "NORMAL_CLEARING" and item["hangup_cause_q850"] == 16
    assert (
        item["wait_sec"] == 7
        and item["rtp_audio_in_mos"] == 4.4
        and item["dial_status"] == "ANSWER"
    )
    assert item["time_start_call"] == 1_700_000_000
    assert item["user"][0]["_id"] == a.id and item["user"][0]["tags_view"] == []
    for key in (
        "time_end_call",
        "time_start_to_answer",
        "ms_time_start_to_answer",
        "time_start_media",
        "hold_call_sec",
        "is_stop_ivr",
        "ivr",
        "is_have_forward_out",
        "is_auto_call",
        "is_deleted",
        "is_callbot",
        "answer_sec",
        "domain_fusion",
        "sip_from_user",
        "nation",
        "is_ai",
        "domain",
        "playback_seconds",
        "pbx_type",
        "is_trunk",
        "suspicious_checked",
        "is_missed_call",
        "is_analyzed",
        "internal_destination",
        "create_by",
        "customer",
    ):
        assert key in item


async def test_search_by_extension_and_filters(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(engine)
    a = await add_agent(engine, t, "Mai Anh", "130")
    answered = await add_call(
        engine, t, agents_on_call=[a], tags=["VIP"], destination_number="19009999"
    )
    cancelled = await add_call(
        engine,
        t,
        agents_on_call=[a],
        disposition="cancelled",
        direction="outbound",
        source_number="842873001234",
        destination_number="0912000111",
    )
    async with engine.connect() as conn:
        vip = await conn.scalar(
            select(tags.c.id).where(tags.c.tenant_id == t.id, tags.c.name == "VIP")
        )

    async def ids(**body: object) -> set[str]:
        r = await client.post(
            SEARCH, json={**window(), "user_uuids": ["130"], **body}, headers=t.headers
        )
        assert r.status_code == 200, r.text
        return {i["transaction_id"] for i in r.json()["payload"]["items"]}

    assert await ids() == {answered, cancelled}
    assert await ids(direction=["outbound"]) == {cancelled}
    assert await ids(disposition=["answered"]) == {answered}
    assert await ids(tags=[vip]) == {answered}
    assert await ids(tags=["000000000000000000000000"]) == set()
    assert await ids(numbers=["+842873001234"]) == {cancelled}
    assert await ids(numbers=["19009999"]) == {answered}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"to_date": 1, "user_uuids": ["x"]}, 400, "from_date_is_required"),
        ({"from_date": 1, "user_uuids": ["x"]}, 400, "to_date_is_required"),
        ({"from_date": 2, "to_date": 1, "user_uuids": ["x"]}, 400, "date_invalid"),
        (
            {"from_date": 0, "to_date": 40 * 86_400_000, "user_uuids": ["x"]},
            400,
            "date_is_too_long",
        ),
        ({"from_date": 0, "to_date": 1}, 400, "user_uuids_is_required"),
        ({"from_date": 0, "to_date": 1, "user_uuids": []}, 400, "user_uuids_is_required"),
        ({"from_date": 0, "to_date": 1, "user_uuids": [{"a": 1}]}, 400, "validation_error"),
        (
            {"from_date": 0, "to_date": 1, "user_uuids": ["x"], "direction": ["up"]},
            400,
            "validation_error",
        ),
    ],
)
async def test_search_errors(
    engine: AsyncEngine, client: httpx.AsyncClient, body: dict[str, object], status: int, code: str
) -> None:
    t = await make_tenant(engine)
    r = await client.post(SEARCH, json=body, headers=t.headers)
    assert r.status_code == status
    assert r.json()["message"] == code


async def test_search_needs_a_key(client: httpx.AsyncClient) -> None:
    r = await client.post(SEARCH, json={**window(), "user_uuids": ["x"]})
    assert r.status_code == 401 and r.json()["message"] == "api_key_is_required"
