"""agent_hour_totals and queue_hour_totals (migration 0013) stay exact on both stores:
after random ingest, re-sent records that move calls and rewrite their agents, erasures,
tombstones and outright deletes, each rollup equals a fresh count of the calls, and the
statistics read from them equal the statistics counted from the calls alone."""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.calls import deletion
from callhistory.calls.params import CallFilter
from callhistory.calls.retention import prune_calls
from callhistory.config import Settings
from callhistory.db import writing
from callhistory.ingest.bulk import Entry, store_calls
from callhistory.ingest.records import AgentOnCall, CallRecord
from callhistory.schema import STATS_MEASURES, agent_hour_totals, calls, queue_hour_totals
from callhistory.stats import queries, rollups
from callhistory.stats.buckets import Step
from callhistory.stats.lines import lines
from callhistory.stats.queries import Row
from tests.factories import make_tenant

HOUR = 3_600_000
UTC = ZoneInfo("UTC")
SAIGON = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = 86_400_000
BASE = 1_796_000_400_000 // HOUR * HOUR  # a whole UTC hour
AGENTS = [
    AgentOnCall(sip_user="101", email="lan@acme.vn", full_name="Lan"),
    AgentOnCall(sip_user="102", email="minh@acme.vn", full_name="Minh"),
    AgentOnCall(sip_user="103"),  # no email
]


def _record(tx: str, spec: dict[str, Any]) -> CallRecord:
    return CallRecord(
        tx,
        BASE + spec["minute"] * 60_000 + spec["ms"],
        spec["direction"],
        spec["disposition"],
        queue_destination=spec["queue"],
        bill_sec=spec["bill"],
        wait_sec=spec["wait"],
        hold_call_sec=spec["hold"],
        agents=tuple(AGENTS[i] for i in spec["agents"]),
    )


calls_spec = st.fixed_dictionaries(
    {
        "minute": st.integers(0, 5 * 60),  # five hours and a bit
        "ms": st.integers(0, 59_999),
        "direction": st.sampled_from(["inbound", "outbound", "local"]),
        "disposition": st.sampled_from(["answered", "no_answer", "busy"]),
        "queue": st.sampled_from([None, "8001", "8002"]),
        "bill": st.integers(0, 600),
        "wait": st.integers(0, 60),
        "hold": st.integers(0, 60),
        "agents": st.lists(st.integers(0, 2), max_size=3, unique=True),
    }
)
# what happens to each stored call after the first batch
fates = st.sampled_from(["keep", "resend", "erase", "tombstone", "delete"])


async def _mismatches(engine: AsyncEngine, tenant_id: str) -> list[str]:
    said = []
    async with engine.connect() as conn:
        for table, fresh, key_width in (
            (agent_hour_totals, queries.fresh_agent_totals(), 4),
            (queue_hour_totals, queries.fresh_queue_totals(), 3),
        ):
            kept = {
                tuple(r[:key_width]): tuple(int(v) for v in r[key_width:])
                for r in await conn.execute(
                    select(
                        *list(table.primary_key.columns), *(table.c[m] for m in STATS_MEASURES)
                    ).where(table.c.tenant_id == tenant_id, table.c.calls != 0)
                )
            }
            counted = {
                tuple(r[:key_width]): tuple(int(v) for v in r[-len(STATS_MEASURES) :])
                for r in await conn.execute(fresh)
                if r[0] == tenant_id
            }
            if kept != counted:
                said.append(f"{table.name}: kept {kept} counted {counted}")
    return said


def _shown(
    rows: list[Row], step: Step | None, zone: ZoneInfo = UTC, interval: Any = None
) -> dict[Any, Any]:
    """Each line's totals and buckets, as the answer shows them."""
    interval = interval or ("hour" if step else None)
    return {
        line.key: (line.totals.figures(), {at: b.figures() for at, b in line.buckets.items()})
        for line in lines(rows, zone, interval)
    }


async def _stats_both_ways(engine: AsyncEngine, tenant_id: str, f: CallFilter) -> None:
    """The rows the routes read (rollups + edges) sum to what the calls alone give."""
    async with engine.connect() as conn:
        for step in (None, Step(HOUR), Step(DAY, 7 * HOUR)):  # UTC hours, local days
            mixed = await queries.agent_rows(conn, tenant_id, f, [], step)
            alone = await queries._agents_from_calls(conn, tenant_id, f, [], step)
            alone += await queries._agent_scores(conn, tenant_id, f, [], step)
            queued = await queries.queue_rows(conn, tenant_id, f, step)
            queued_alone = await queries._queues_from_calls(conn, tenant_id, f, step)
            for a, b in ((mixed, alone), (queued, queued_alone)):
                assert _shown(a, step) == _shown(b, step)
        # local days (UTC+7) grouped in SQL, or from UTC hours in Python: the same days
        by_hour = await queries.agent_rows(conn, tenant_id, f, [], Step(HOUR))
        by_day = await queries.agent_rows(conn, tenant_id, f, [], Step(DAY, 7 * HOUR))
        assert _shown(by_hour, Step(HOUR), SAIGON, "day") == _shown(by_day, None, SAIGON, "day")


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=st.lists(calls_spec, min_size=1, max_size=12),
    later=st.lists(st.tuples(fates, calls_spec), min_size=12, max_size=12),
    window=st.tuples(st.integers(0, 6 * HOUR), st.integers(0, 6 * HOUR)),
)
async def test_rollups_stay_exact(
    engine: AsyncEngine, first: list[dict[str, Any]], later: list[Any], window: Any
) -> None:
    tenant = await make_tenant(engine)
    ids = [str(uuid.uuid4()) for _ in first]
    async with writing(engine) as conn:
        await store_calls(
            conn, tenant.id, [Entry(_record(tx, s)) for tx, s in zip(ids, first, strict=True)]
        )
    assert await _mismatches(engine, tenant.id) == []

    resent, key = [], calls.c.tenant_id == tenant.id
    for tx, (fate, spec) in zip(ids, later, strict=False):
        if fate == "resend":
            resent.append(Entry(_record(tx, spec)))
        elif fate == "erase":
            await deletion.erase(engine, Settings(), tenant.id, tx, "test")
        elif fate in ("tombstone", "delete"):
            async with writing(engine) as conn:
                one = (key, calls.c.transaction_id == tx)
                if fate == "tombstone":
                    await conn.execute(update(calls).where(*one).values(is_deleted=True))
                else:  # outright, its agents left to the trigger and the cascade
                    await conn.execute(delete(calls).where(*one))
    # a batch that both inserts and moves calls, as a PBX re-sending a day does
    fresh = [Entry(_record(str(uuid.uuid4()), s)) for _, s in later[:3]]
    async with writing(engine) as conn:
        await store_calls(conn, tenant.id, [*resent, *fresh])
    assert await _mismatches(engine, tenant.id) == []

    start, length = window
    f = CallFilter(BASE + start - 1234, BASE + start + length + 777)
    await _stats_both_ways(engine, tenant.id, f)

    await prune_calls(engine, Settings(), tenant.id, BASE + 3 * HOUR, 1000)
    assert await _mismatches(engine, tenant.id) == []


def test_a_window_is_split_into_whole_hours_and_its_edges() -> None:
    f = CallFilter(BASE - 5, BASE + 3 * HOUR + 10)
    split = rollups.split(f, None)
    assert split.hours == (BASE, BASE + 3 * HOUR)
    assert [(p.from_ms, p.to_ms) for p in split.from_calls] == [
        (BASE - 5, BASE - 1),
        (BASE + 3 * HOUR, BASE + 3 * HOUR + 10),
    ]
    exact = CallFilter(BASE, BASE + HOUR - 1)
    assert rollups.split(exact, Step(HOUR)) == rollups.Split((BASE, BASE + HOUR), [])
    # quarter-hour steps, another filter, or no whole hour: the calls alone
    assert rollups.split(f, Step(900_000)).hours is None
    assert rollups.split(f, Step(86_400_000, 1_800_000)).hours is None  # +00:30
    assert rollups.split(CallFilter(f.from_ms, f.to_ms, directions=["inbound"]), None).hours is None
    assert rollups.split(CallFilter(BASE + 1, BASE + HOUR), None).hours is None
