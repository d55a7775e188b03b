"""ingest.lookups: the directory rows a batch reads in one round trip enrich each call
exactly as the lookups made one call at a time do, and no other tenant's rows leak in."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.db import new_id
from callhistory.ingest import lookups
from callhistory.ingest.enrich import RecordingUrls, enrich
from callhistory.ingest.formats.call import MergedCall
from callhistory.schema import agents, customer_phones, customers, hotlines, price_rates, queues
from tests.factories import make_tenant

HOTLINE = "02473001234"
CUSTOMER = "0912000111"
# Each way a number reaches the PBX: extensions (active, inactive, shared by two agents),
# the hotline and the customer written three ways, a queue, strangers, nothing.
NUMBERS = [
    "101", "102", "103", "104", "5001", "+84101",
    HOTLINE, "842473001234", "+842473001234",
    CUSTOMER, "84912000111", "+84912000111",
    "0987000222", "19001234", "",
]  # fmt: skip
EXTENSIONS = [(), ("101",), ("102", "101"), ("103",), ("104", "999")]


def _agent(tenant_id: str, agent_id: str, sip_user: str | None, active: bool = True) -> Any:
    name = f"Agent {agent_id}"
    return {
        "tenant_id": tenant_id,
        "id": agent_id,
        "email": f"{agent_id}@x.vn",
        "full_name": name,
        "full_name_unsigned": name,
        "sip_user": sip_user,
        "user_uuid": f"U-{agent_id}",
        "active": active,
    }


async def _directory(engine: AsyncEngine, tenant_id: str, label: str) -> None:
    customer_id = new_id()
    async with engine.begin() as conn:
        await conn.execute(
            agents.insert(),
            [
                _agent(tenant_id, f"{label}-a1", "101"),
                _agent(tenant_id, f"{label}-a2", "102", active=False),
                _agent(tenant_id, f"{label}-a3", "103"),  # two active agents on 103
                _agent(tenant_id, f"{label}-a4", "103"),
                _agent(tenant_id, f"{label}-a5", None),
                _agent(tenant_id, f"{label}-a6", "+84101"),  # not its national form
            ],
        )
        await conn.execute(hotlines.insert().values(tenant_id=tenant_id, number=HOTLINE))
        await conn.execute(queues.insert().values(tenant_id=tenant_id, number="5001"))
        await conn.execute(
            customers.insert().values(
                tenant_id=tenant_id,
                id=customer_id,
                full_name=f"{label} customer",
                full_name_unsigned=f"{label} customer",
                phone=CUSTOMER,
                code=f"{label}-KH1",
            )
        )
        await conn.execute(
            customer_phones.insert().values(
                tenant_id=tenant_id, phone=CUSTOMER, customer_id=customer_id
            )
        )
        await conn.execute(
            price_rates.insert(),
            [
                {"tenant_id": tenant_id, "carrier": carrier, "price_per_minute": price,
                 "first_block_sec": 6, "next_block_sec": 6}
                for carrier, price in (("viettel", 1100), ("fixed", 700))
            ],
        )  # fmt: skip


def _calls() -> list[MergedCall]:
    base = MergedCall(
        call_id="c",
        caller_number="",
        destination_number="",
        start_ms=1_700_000_000_000,
        answer_ms=1_700_000_005_000,
        end_ms=1_700_000_065_000,
        bill_sec=60,
        wait_sec=5,
        hold_sec=0,
        answered=True,
        hangup_cause="NORMAL_CLEARING",
        hangup_cause_q850=16,
        dial_status=None,
        mos=None,
        extensions=(),
        sip_from_user=None,
        domain=None,
        queue=None,
        recording_path=None,
        record_seconds=None,
        voicemail=False,
        voicemail_path=None,
        is_auto_call=False,
        outbound_caller_id=None,
    )
    made = []
    pairs = itertools.product(NUMBERS, NUMBERS, EXTENSIONS, (None, HOTLINE, "+84912000111", "101"))
    for number, (caller, destination, extensions, caller_id) in enumerate(pairs):
        if number % 7:  # a seventh of the combinations: every number still meets every other
            continue
        made.append(
            replace(
                base,
                call_id=f"c{number}",
                caller_number=caller,
                destination_number=destination,
                extensions=extensions,
                outbound_caller_id=caller_id,
            )
        )
    return made


async def test_one_round_trip_enriches_as_one_by_one(engine: AsyncEngine) -> None:
    tenant, other = await make_tenant(engine), await make_tenant(engine)
    await _directory(engine, tenant.id, "mine")
    await _directory(engine, other.id, "theirs")
    calls = _calls()
    recordings = RecordingUrls()
    async with engine.connect() as conn:
        cache = await lookups.load(conn, tenant.id, calls)
        for call in calls:
            alone = await enrich(conn, tenant.id, call, recordings)
            together = await enrich(conn, tenant.id, call, recordings, cache=cache)
            # and loaded for this call only: nothing another call asked for helps it
            own = await lookups.load(conn, tenant.id, [call])
            assert together == alone == await enrich(conn, tenant.id, call, recordings, cache=own)
    # what was read is the batch's own and the tenant's own
    assert set(cache.agents) == {"101", "103"}  # the calls' own extensions
    assert cache.agents["103"].id == "mine-a3"  # as agents_by_extension orders them
    assert cache.numbers.extensions == {"101", "102", "103", "+84101"}  # 104 is nobody's
    assert cache.numbers.hotlines == {HOTLINE} and cache.numbers.queues == {"5001"}
    assert {c.code for c in cache.customers.values()} == {"mine-KH1"}
    assert {carrier: r.price_per_minute for carrier, r in cache.rates.items()} == {
        "viettel": 1100,
        "fixed": 700,
    }


async def test_many_values_take_several_statements(engine: AsyncEngine, monkeypatch: Any) -> None:
    tenant = await make_tenant(engine)
    await _directory(engine, tenant.id, "mine")
    monkeypatch.setattr(lookups, "MAX_VALUES_PER_QUERY", 3)
    calls = _calls()
    async with engine.connect() as conn:
        cache = await lookups.load(conn, tenant.id, calls)
        for call in calls[:: len(calls) // 40]:
            alone = await enrich(conn, tenant.id, call, RecordingUrls())
            assert await enrich(conn, tenant.id, call, RecordingUrls(), cache=cache) == alone
    assert set(cache.rates) == {"viettel", "fixed"}  # read once, not once per statement
    assert cache.numbers.hotlines == {HOTLINE}
