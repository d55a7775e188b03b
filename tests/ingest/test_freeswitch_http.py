"""POST /api/cdr/freeswitch as mod_json_cdr uses it: every encoding, legs in any order,
re-sent legs, bad posts refused with a clear 4xx and kept in the rejections log."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.schema import calls, cdr_legs
from tests.conftest import SHARED
from tests.factories import Tenant, make_tenant
from tests.ingest.freeswitch_posts import ENCODINGS, call_center, document, post_leg

QUEUE_CALL = "3f0c1a52-6a1e-4c47-9a51-0b8f2f2d9a01"
OUTBOUND_CALL = "e5f6a7b8-2c3d-4e4f-a051-7c8d9e0f1a05"
TRANSFERRED_CALL = "d0e1f2a3-7182-4394-b5a6-2b3c4d5e6f10"


async def stored(engine: AsyncEngine, tenant: Tenant, transaction_id: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(calls).where(
                    calls.c.tenant_id == tenant.id, calls.c.transaction_id == transaction_id
                )
            )
        ).first()
    assert row is not None, f"{transaction_id} not stored"
    return dict(row._mapping)


async def detail(client: httpx.AsyncClient, tenant: Tenant, transaction_id: str) -> Any:
    answer = await client.get(
        f"/api/call_transaction/detail/{transaction_id}", headers=tenant.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["payload"]


async def call_count(engine: AsyncEngine, tenant: Tenant) -> int:
    async with engine.connect() as conn:
        return int(
            await conn.scalar(
                select(func.count()).select_from(calls).where(calls.c.tenant_id == tenant.id)
            )
            or 0
        )


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_queue_call_in_every_encoding(
    engine: AsyncEngine, client: httpx.AsyncClient, encoding: str
) -> None:
    tenant = await call_center(engine, client)
    for name in ("inbound-queue-answered-aleg", "inbound-queue-answered-bleg"):
        answer = await post_leg(client, tenant.api_key, document(name), encoding)
        assert answer.status_code == 200, answer.text
        assert answer.json()["payload"]["transaction_id"] == QUEUE_CALL
    row = await stored(engine, tenant, QUEUE_CALL)
    assert row["direction"] == "inbound"
    assert row["disposition"] == "answered"
    assert (row["source_number"], row["destination_number"]) == ("0912345678", "19001234")
    assert row["hotline"] == "19001234"
    assert row["queue_destination"] == "5001"
    assert row["sip_user"] == "102"
    assert (row["bill_sec"], row["duration"], row["wait_sec"], row["hold_call_sec"]) == (
        95,
        113,
        18,
        12,
    )
    assert row["created_date"] == 1_795_000_000_123
    assert row["ms_time_start_to_answer"] == 1_795_000_018_123
    assert row["time_end_call"] == 1_795_000_113
    assert (row["hangup_cause"], row["hangup_cause_q850"]) == ("NORMAL_CLEARING", 16)
    assert row["rtp_audio_in_mos"] == pytest.approx(4.38)
    assert row["provider"] == "vinaphone"  # 091
    assert row["call_out_price"] is None  # inbound calls cost the call center nothing
    assert row["recording_file"].endswith(f"2026/Nov/18/{QUEUE_CALL}.mp3")
    # the path as FreeSWITCH wrote it, kept to stream the file (recordings.sources)
    assert row["recording_path"].startswith("/") and row["recording_path"].endswith(".mp3")
    assert row["record_seconds"] == 95
    assert row["pbx_type"] == "freeswitch"
    payload = await detail(client, tenant, QUEUE_CALL)
    assert payload["customer"]["full_name"] == "Trần Văn Tiến"
    assert [u["full_name"] for u in payload["user"]] == ["Trần Thị Bích"]


@pytest.mark.parametrize("order", ["a-then-b", "b-then-a"])
async def test_outbound_call_whatever_the_leg_order(
    engine: AsyncEngine, client: httpx.AsyncClient, order: str
) -> None:
    tenant = await call_center(engine, client)
    legs = ["outbound-answered-aleg", "outbound-answered-bleg"]
    for name in legs if order == "a-then-b" else legs[::-1]:
        assert (await post_leg(client, tenant.api_key, document(name))).status_code == 200
    row = await stored(engine, tenant, OUTBOUND_CALL)
    assert row["direction"] == "outbound"
    assert (row["source_number"], row["destination_number"]) == ("103", "0987654321")
    assert row["sip_user"] == "103"
    assert row["hotline"] == "02873001234"  # the caller id the agent went out with
    assert row["provider"] == "viettel"
    # 125 s in 6+6 blocks is 126 s billed at 1,100 VND a minute: 2,310 VND.
    assert row["call_out_price"] == 2_310
    assert row["recording_file"].endswith(f"{OUTBOUND_CALL}.wav")
    assert row["customer_name"] == "Đỗ Thị Lan"
    payload = await detail(client, tenant, OUTBOUND_CALL)
    assert payload["create_by"]["name"] == "Lê Hoàng Cường"


async def test_transferred_call_legs_in_every_order_give_one_record(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    names = ["transferred-aleg", "transferred-bleg-102", "transferred-bleg-105"]
    results = []
    for order in itertools.permutations(names):
        tenant = await call_center(engine, client)
        for name in order:
            assert (await post_leg(client, tenant.api_key, document(name))).status_code == 200
        row = await stored(engine, tenant, TRANSFERRED_CALL)
        row = {k: v for k, v in row.items() if k not in ("tenant_id", "id", "last_updated_date")}
        results.append(row)
        users = [u["full_name"] for u in (await detail(client, tenant, TRANSFERRED_CALL))["user"]]
        assert users == ["Trần Thị Bích", "Đặng Thu Hà"]
        assert await call_count(engine, tenant) == 1
    assert all(r == results[0] for r in results)
    first = results[0]
    assert first["destination_number"] == "19001234"  # the number first dialled
    assert (first["bill_sec"], first["disposition"]) == (180, "answered")


async def test_a_resent_leg_changes_nothing(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    tenant = await call_center(engine, client)
    raw = document("inbound-queue-answered-aleg")
    first = await post_leg(client, tenant.api_key, raw, "urlencoded")
    before = await stored(engine, tenant, QUEUE_CALL)
    again = await post_leg(client, tenant.api_key, raw, "base64")
    assert (first.json()["payload"]["status"], again.json()["payload"]["status"]) == (
        "stored",
        "unchanged",
    )
    assert await stored(engine, tenant, QUEUE_CALL) == before
    async with engine.connect() as conn:
        legs = await conn.scalar(
            select(func.count()).select_from(cdr_legs).where(cdr_legs.c.tenant_id == tenant.id)
        )
    assert legs == 1


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "inbound-busy-aleg",
            {
                "direction": "inbound",
                "disposition": "cancelled",
                "hangup_cause": "USER_BUSY",
                "hangup_cause_q850": 17,
                "dial_status": "BUSY",
                "is_missed_call": True,
                "source_number": "84983111222",
                "customer_number": "0983111222",
                "provider": "viettel",
                "bill_sec": 0,
            },
        ),
        (
            "inbound-voicemail-aleg",
            {
                "direction": "inbound",
                "is_voicemail": True,
                "customer_number": "0901234567",
                "provider": "mobifone",
            },
        ),
        (
            "local-answered-aleg",
            {
                "direction": "local",
                "disposition": "answered",
                "bill_sec": 60,
                "provider": None,
                "call_out_price": None,
                "hotline": None,
            },
        ),
        (
            "auto-call-originate",
            {
                "direction": "outbound",
                "is_auto_call": True,
                "source_number": "02873001234",
                "destination_number": "0356789012",
                "playback_seconds": 14,
                "provider": "viettel",
                "call_out_price": 330,  # 15 s billed as 18 s (6+6) at 1,100 VND a minute
            },
        ),
    ],
)
async def test_single_leg_calls(
    engine: AsyncEngine, client: httpx.AsyncClient, name: str, expected: dict[str, Any]
) -> None:
    tenant = await call_center(engine, client)
    answer = await post_leg(client, tenant.api_key, document(name), "urlencoded")
    assert answer.status_code == 200, answer.text
    row = await stored(engine, tenant, answer.json()["payload"]["transaction_id"])
    assert {k: row[k] for k in expected} == expected


async def test_unanswered_outbound_has_no_price(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    tenant = await call_center(engine, client)
    for name in ("outbound-no-answer-bleg", "outbound-no-answer-aleg"):
        assert (await post_leg(client, tenant.api_key, document(name))).status_code == 200
    row = await stored(engine, tenant, "a7b8c9d0-4e5f-4061-8273-9e0f1a2b3c07")
    assert (row["direction"], row["disposition"], row["call_out_price"]) == (
        "outbound",
        "cancelled",
        None,
    )
    assert (row["hangup_cause"], row["sip_user"]) == ("NO_ANSWER", "101")


async def test_tenants_keep_their_own_copy(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    first, second = await call_center(engine, client), await make_tenant(engine, "other")
    raw = document("outbound-answered-aleg")
    assert (await post_leg(client, first.api_key, raw)).status_code == 200
    assert (await call_count(engine, second)) == 0
    answer = await client.get(
        f"/api/call_transaction/detail/{OUTBOUND_CALL}", headers=second.headers
    )
    assert answer.status_code == 404
    assert (await post_leg(client, second.api_key, raw)).json()["payload"]["status"] == "stored"
    # The second tenant has no agents or prices: its copy is not enriched from the first's.
    assert (await stored(engine, second, OUTBOUND_CALL))["call_out_price"] is None
    assert (await stored(engine, first, OUTBOUND_CALL))["call_out_price"] == 2_310


REAL = SHARED / "fixtures" / "freeswitch"


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/fixtures/freeswitch is absent")
async def test_real_documents_over_http(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    """The seven real posts, B-leg before its A-leg, each in its own encoding."""
    tenant = await make_tenant(engine, "real")
    paths = sorted(REAL.glob("*.json"), reverse=True)
    for path, encoding in zip(paths, itertools.cycle(ENCODINGS), strict=False):
        answer = await post_leg(client, tenant.api_key, path.read_bytes(), encoding)
        assert answer.status_code == 200, (path.name, answer.text)
    assert await call_count(engine, tenant) == 6  # 05 and 06 are the two legs of one call
    expected = {
        "c8ccef5e": ("local", "answered", 21),  # 01: 1001 -> 1002
        "01df56f4": ("outbound", "answered", 4),  # 02: dan -> +4986517174963
        "e3133bf7": ("local", "answered", 66),  # 03
        "5a3a1d91": ("local", "answered", 21),  # 04, 15 s on hold
        "51156b0b": ("local", "cancelled", 0),  # 05 + 06
        "16c22a18": ("outbound", "answered", 7),  # 07: originate
    }
    async with engine.connect() as conn:
        rows = (await conn.execute(select(calls).where(calls.c.tenant_id == tenant.id))).all()
    found = {r.transaction_id[:8]: (r.direction, r.disposition, r.bill_sec) for r in rows}
    assert found == expected
    held = next(r for r in rows if r.transaction_id.startswith("5a3a1d91"))
    assert held.hold_call_sec == 15
    cancelled = next(r for r in rows if r.transaction_id.startswith("51156b0b"))
    assert (cancelled.hangup_cause, cancelled.hangup_cause_q850) == ("ORIGINATOR_CANCEL", 16)
    dialer = next(r for r in rows if r.transaction_id.startswith("16c22a18"))
    assert dialer.is_auto_call and dialer.playback_seconds == 6


async def test_legs_posted_at_once_merge_into_one_call(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    """mod_json_cdr posts the A- and B-legs from separate threads, often together, and
    retries: each merge must see the legs committed before it."""
    tenant = await call_center(engine, client)
    names = ["transferred-aleg", "transferred-bleg-102", "transferred-bleg-105"] * 3
    answers = await asyncio.gather(
        *(post_leg(client, tenant.api_key, document(name), "urlencoded") for name in names)
    )
    assert [a.status_code for a in answers] == [200] * len(names)
    row = await stored(engine, tenant, TRANSFERRED_CALL)
    assert (row["bill_sec"], row["sip_user"], row["destination_number"]) == (180, "102", "19001234")
    users = [u["full_name"] for u in (await detail(client, tenant, TRANSFERRED_CALL))["user"]]
    assert users == ["Trần Thị Bích", "Đặng Thu Hà"]
