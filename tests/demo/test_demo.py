"""The demo generator: believable shares, consistent rows, refresh in place, other tenants
untouched, and calls that the API serves and keyword search finds."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable

from callhistory.auth import keys
from callhistory.carriers import FIXED_LINE, MOBILE_PREFIXES
from callhistory.db import create_engine, migrate, now_ms
from callhistory.demo import DemoResult, generate, names
from callhistory.schema import (
    agents,
    call_tags,
    call_users,
    calls,
    customer_phones,
    customers,
    hotlines,
    queues,
    tags,
    tenants,
)
from callhistory.text import fold

DAY_MS = 86_400_000
N_CALLS = 2_000
SEED = 20240601


async def _engine(path: Path) -> AsyncEngine:
    engine = create_engine(f"sqlite:///{path / 't.db'}")
    await migrate(engine)
    return engine


@pytest.fixture(scope="module")
async def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[AsyncEngine, DemoResult]]:
    engine = await _engine(tmp_path_factory.mktemp("demo"))
    result = await generate(engine, "demo", N_CALLS, SEED, False)
    yield engine, result
    await engine.dispose()


async def _rows(engine: AsyncEngine, sql: str | Executable) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(text(sql) if isinstance(sql, str) else sql))


async def _count(engine: AsyncEngine, table: Any, tenant_id: str) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id)
        return int(await conn.scalar(query) or 0)


async def _tenant_id(engine: AsyncEngine, name: str) -> str:
    async with engine.connect() as conn:
        found = await keys.find_tenant(conn, name)
    assert found is not None
    return found.id


async def test_counts_and_result(demo: tuple[AsyncEngine, DemoResult]) -> None:
    engine, result = demo
    tid = await _tenant_id(engine, "demo")
    assert result.tenant_name == "demo"
    assert (result.agents, result.customers, result.calls) == (30, N_CALLS // 8, N_CALLS)
    assert result.seconds > 0
    assert await _count(engine, calls, tid) == N_CALLS
    assert await _count(engine, agents, tid) == 30
    assert await _count(engine, customers, tid) == N_CALLS // 8
    assert await _count(engine, customer_phones, tid) >= N_CALLS // 8
    assert 2 <= await _count(engine, hotlines, tid) <= 4
    assert 2 <= await _count(engine, queues, tid) <= 4
    assert 8 <= await _count(engine, tags, tid) <= 15
    assert await _count(engine, call_users, tid) > N_CALLS // 2
    assert await _count(engine, call_tags, tid) > 0


async def test_the_key_works(demo: tuple[AsyncEngine, DemoResult]) -> None:
    engine, result = demo
    async with engine.connect() as conn:
        ref = await keys.verify_key(conn, result.api_key)
    assert ref is not None and ref.tenant_id == await _tenant_id(engine, "demo")


async def test_directions_and_dispositions_are_believable(
    demo: tuple[AsyncEngine, DemoResult],
) -> None:
    engine, _ = demo
    rows = await _rows(
        engine,
        "SELECT direction, count(*), sum(CASE WHEN disposition = 'answered' THEN 1 ELSE 0 END),"
        " sum(CASE WHEN is_auto_call THEN 1 ELSE 0 END) FROM calls GROUP BY direction",
    )
    by_direction = {d: (n, answered, auto) for d, n, answered, auto in rows}
    assert set(by_direction) == {"inbound", "outbound", "local"}
    share = {d: n / N_CALLS for d, (n, _, _) in by_direction.items()}
    assert 0.55 <= share["inbound"] <= 0.65
    assert 0.28 <= share["outbound"] <= 0.38
    assert 0.04 <= share["local"] <= 0.10
    inbound, in_answered, _ = by_direction["inbound"]
    outbound, out_answered, out_auto = by_direction["outbound"]
    assert 0.62 <= in_answered / inbound <= 0.78
    assert 0.47 <= out_answered / outbound <= 0.63
    assert 0.08 <= out_auto / outbound <= 0.22
    assert by_direction["inbound"][2] == by_direction["local"][2] == 0


async def test_every_call_is_in_the_last_60_days_and_over(
    demo: tuple[AsyncEngine, DemoResult],
) -> None:
    engine, _ = demo
    now = now_ms()
    [(first, last, last_end, bad_updates)] = await _rows(
        engine,
        "SELECT min(created_date), max(created_date), max(time_end_call),"
        " sum(CASE WHEN last_updated_date < created_date THEN 1 ELSE 0 END) FROM calls",
    )
    assert now - 60 * DAY_MS <= first <= last <= now
    assert last_end * 1000 <= now
    assert bad_updates == 0
    # spread over the whole window, not bunched at one end
    assert last - first > 50 * DAY_MS


async def test_answered_and_cancelled_calls_are_consistent(
    demo: tuple[AsyncEngine, DemoResult],
) -> None:
    engine, _ = demo
    for row in await _rows(engine, select(calls)):
        start_s = row.created_date // 1000
        assert row.time_start_call == start_s
        assert row.time_end_call >= row.time_start_to_answer >= start_s
        assert 3 <= row.wait_sec <= 45 or row.dial_status in ("BUSY", "CONGESTION")
        if row.disposition == "answered":
            assert row.bill_sec > 0 and row.record_seconds == row.bill_sec
            assert row.recording_file.endswith(f"/{row.transaction_id}.mp3")
            assert row.recording_file.startswith("https://recordings.example.vn/demo/")
            assert 3.5 <= row.rtp_audio_in_mos <= 4.5
            assert row.duration == row.wait_sec + row.bill_sec
            assert row.dial_status == "ANSWER"
            assert row.ms_time_start_to_answer // 1000 == row.time_start_to_answer
        else:
            assert row.bill_sec == 0 and row.record_seconds == 0
            assert row.recording_file is None and row.rtp_audio_in_mos is None
            assert row.hangup_cause != "NORMAL_CLEARING"
            assert row.dial_status in ("CANCEL", "BUSY", "NOANSWER", "CONGESTION")
            assert row.duration >= row.wait_sec
            assert row.is_voicemail == (row.recording_file_voicemail is not None)
            if not row.is_voicemail:
                assert row.duration == row.wait_sec
        if row.hangup_cause == "ORIGINATOR_CANCEL":
            assert row.hangup_cause_q850 == 487
        if row.hangup_cause == "NORMAL_CLEARING":
            assert row.hangup_cause_q850 == 16


async def test_parties_fit_the_direction(demo: tuple[AsyncEngine, DemoResult]) -> None:
    engine, _ = demo
    valid_providers = {*MOBILE_PREFIXES, FIXED_LINE}
    lines = {n for (n,) in await _rows(engine, "SELECT number FROM hotlines")}
    queue_numbers = {n for (n,) in await _rows(engine, "SELECT number FROM queues")}
    extensions = {n for (n,) in await _rows(engine, "SELECT sip_user FROM agents")}
    for row in await _rows(engine, select(calls)):
        assert row.provider is None or row.provider in valid_providers
        if row.direction == "inbound":
            assert row.destination_number in lines and row.hotline == row.destination_number
            assert row.queue_destination is None or row.queue_destination in queue_numbers
            assert row.call_out_price is None
        elif row.direction == "outbound":
            assert row.source_number.startswith("84") and "0" + row.source_number[2:] in lines
            assert row.destination_number.startswith("0")
            assert row.provider in valid_providers
            assert (row.call_out_price or 0) > 0 if row.disposition == "answered" else True
        else:
            assert {row.source_number, row.destination_number} <= extensions
            assert row.internal_destination["extension"] == row.destination_number
            assert row.create_by["extension"] == row.source_number
            assert row.provider is None and row.hotline is None
        if row.sip_user is not None:
            assert row.sip_user in extensions


async def test_call_users_match_the_calls(demo: tuple[AsyncEngine, DemoResult]) -> None:
    engine, _ = demo
    users: dict[str, list[Any]] = {}
    for u in await _rows(engine, "SELECT * FROM call_users ORDER BY position"):
        users.setdefault(u.transaction_id, []).append(u)
    for row in await _rows(engine, "SELECT transaction_id, sip_user, created_date FROM calls"):
        mine = users.get(row.transaction_id, [])
        if row.sip_user is None:
            assert mine == []
            continue
        assert mine[0].sip_user == row.sip_user and mine[0].position == 0
        assert all(u.created_date == row.created_date for u in mine)
        assert all(u.note_created_date is not None for u in mine if u.note)


async def test_search_text_is_the_same_as_for_api_calls(
    demo: tuple[AsyncEngine, DemoResult],
) -> None:
    engine, _ = demo
    agent_names = {
        row.transaction_id: row.full_name
        for row in await _rows(engine, "SELECT transaction_id, full_name FROM call_users")
    }
    known = 0
    for row in await _rows(engine, select(calls)):
        if row.customer_name:
            known += 1
            assert fold(row.customer_name) in row.search_text
            assert row.customer_number in row.search_text
        if row.note:
            assert fold(row.note) in row.search_text
        if row.transaction_id in agent_names:
            assert fold(agent_names[row.transaction_id]) in row.search_text
    assert known > N_CALLS // 2
    tagged = await _rows(
        engine,
        "SELECT c.search_text, t.name FROM call_tags ct JOIN calls c"
        " ON c.transaction_id = ct.transaction_id JOIN tags t ON t.id = ct.tag_id",
    )
    assert tagged and all(fold(name) in search for search, name in tagged)


async def test_a_refresh_replaces_the_data(tmp_path: Path) -> None:
    engine = await _engine(tmp_path)
    try:
        first = await generate(engine, "demo", 400, 1, False)
        second = await generate(engine, "demo", 150, 2, False)
        tid = await _tenant_id(engine, "demo")
        assert second.api_key != first.api_key
        assert await _count(engine, calls, tid) == 150
        assert await _count(engine, agents, tid) == 30
        assert await _count(engine, customers, tid) == 50  # the minimum
        assert await _count(engine, tags, tid) == len(names.ALL_TAGS)
        async with engine.connect() as conn:
            assert await keys.verify_key(conn, second.api_key) is not None
            assert await conn.scalar(select(func.count()).select_from(tenants)) == 1
    finally:
        await engine.dispose()


async def test_a_refresh_leaves_other_tenants_alone(tmp_path: Path) -> None:
    engine = await _engine(tmp_path)
    try:
        await generate(engine, "demo", 300, 1, False)
        await generate(engine, "other", 200, 2, False)
        other = await _tenant_id(engine, "other")
        before = {t.name: await _count(engine, t, other) for t in (calls, call_users, customers)}
        await generate(engine, "demo", 100, 3, False)
        after = {t.name: await _count(engine, t, other) for t in (calls, call_users, customers)}
        assert after == before and before["calls"] == 200
        assert await _count(engine, calls, await _tenant_id(engine, "demo")) == 100
    finally:
        await engine.dispose()


async def test_a_seed_makes_the_same_calls(tmp_path: Path) -> None:
    made = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        engine = await _engine(tmp_path / name)
        try:
            await generate(engine, "demo", 200, 99, False)
            made.append(
                await _rows(
                    engine,
                    "SELECT transaction_id, direction, disposition, source_number,"
                    " destination_number, bill_sec, note FROM calls ORDER BY transaction_id",
                )
            )
            made.append(
                await _rows(engine, "SELECT full_name, email FROM agents ORDER BY sip_user")
            )
        finally:
            await engine.dispose()
    assert made[0] == made[2] and made[1] == made[3]


async def test_quiet_without_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    engine = await _engine(tmp_path)
    try:
        await generate(engine, "demo", 50, 5, False)
        assert capsys.readouterr() == ("", "")
        await generate(engine, "demo", 50, 5, True)  # a progress bar must not break anything
    finally:
        await engine.dispose()


async def test_negative_counts_are_refused(tmp_path: Path) -> None:
    engine = await _engine(tmp_path)
    try:
        with pytest.raises(ValueError):
            await generate(engine, "demo", -1, None, False)
    finally:
        await engine.dispose()


async def test_the_api_serves_and_finds_demo_calls(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    """On each store: the demo calls come back from the list, and keyword search finds a
    customer by an unaccented, lower-case name."""
    name = f"demo-{secrets.token_hex(4)}"
    result = await generate(engine, name, 300, 11, False)
    now = now_ms()
    window = {"from_date": now - 30 * DAY_MS, "to_date": now}
    headers = {"x-api-key": result.api_key}
    listed = await client.get(
        "/api/call_transaction/list", params={**window, "size": 5}, headers=headers
    )
    assert listed.status_code == 200, listed.text
    assert listed.json()["payload"]["total_items"] > 0
    tid = await _tenant_id(engine, name)
    async with engine.connect() as conn:
        customer = (
            await conn.execute(
                select(calls.c.customer_name)
                .where(
                    calls.c.tenant_id == tid,
                    calls.c.customer_name.is_not(None),
                    calls.c.created_date >= window["from_date"],
                )
                .limit(1)
            )
        ).scalar_one()
        theirs = set(
            (
                await conn.execute(
                    select(calls.c.transaction_id).where(
                        calls.c.tenant_id == tid,
                        calls.c.customer_name == customer,
                        calls.c.created_date >= window["from_date"],
                    )
                )
            ).scalars()
        )
    found: set[str] = set()
    page = 1
    while True:
        answer = await client.get(
            "/api/call_transaction/list",
            params={**window, "keyword": fold(customer), "size": 50, "page": page},
            headers=headers,
        )
        assert answer.status_code == 200, answer.text
        payload = answer.json()["payload"]
        found |= {item["transaction_id"] for item in payload["items"]}
        if not payload["has_next"]:
            break
        page += 1
    assert theirs and theirs <= found
