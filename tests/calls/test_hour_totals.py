"""call_hour_totals (both stores): exact after inserts, changes, deletions, and the
counts and report it answers equal counting the calls themselves; writers that lock its
rows (PostgreSQL) do not deadlock."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from callhistory.calls import deletion, queries, retention, totals
from callhistory.calls.params import DAY_MS, HOUR_MS, CallFilter, whole_hours
from callhistory.config import get_settings
from callhistory.db import now_ms, writing
from callhistory.demo import generate
from callhistory.ingest.bulk import Entry, store_calls
from callhistory.ingest.records import AgentOnCall, CallRecord
from callhistory.reports.routes import _counts
from callhistory.schema import call_hour_totals, calls, tenants
from tests.factories import make_tenant


async def _mismatches(engine: AsyncEngine, tenant_id: str) -> list[object]:
    """Rows where the maintained totals differ from a fresh count (none when exact)."""
    t = call_hour_totals
    async with engine.connect() as conn:
        kept = {
            tuple(r[:-2]): (int(r[-2]), int(r[-1]))
            for r in await conn.execute(
                select(*t.c).where(t.c.tenant_id == tenant_id, t.c.calls != 0)
            )
        }
        counted = {
            tuple(r[:-2]): (int(r[-2]), int(r[-1]))
            for r in await conn.execute(totals.fresh_totals())
            if r[0] == tenant_id
        }
    return sorted(
        (k, kept.get(k), counted.get(k))
        for k in kept.keys() | counted.keys()
        if kept.get(k) != counted.get(k)
    )


async def _both_ways(conn: AsyncConnection, tenant_id: str, f: CallFilter) -> None:
    """The count and the report the routes give (totals + edges) equal the calls' own."""
    conds = queries.where(tenant_id, f)
    plain = await conn.scalar(select(func.count()).select_from(calls).where(*conds))
    assert await queries.count(conn, tenant_id, f) == plain, f
    rows = await conn.execute(
        select(calls.c.direction, calls.c.disposition, func.count(), func.sum(calls.c.bill_sec))
        .where(*conds)
        .group_by(calls.c.direction, calls.c.disposition)
    )
    expected = {(d, s): (int(n), int(b)) for d, s, n, b in rows}
    assert await _counts(conn, tenant_id, f) == expected, f


async def test_totals_stay_exact(engine: AsyncEngine) -> None:
    await generate(engine, "totals", 3000, seed=7, progress=False)
    async with engine.connect() as conn:
        tenant_id = await conn.scalar(select(tenants.c.id).where(tenants.c.name == "totals"))
        assert await conn.scalar(
            select(func.count())
            .select_from(call_hour_totals)
            .where(call_hour_totals.c.tenant_id == tenant_id)
        )
    assert tenant_id is not None
    assert await _mismatches(engine, tenant_id) == []

    async with engine.begin() as conn:
        ids = list(
            (
                await conn.scalars(
                    select(calls.c.transaction_id)
                    .where(calls.c.tenant_id == tenant_id)
                    .order_by(calls.c.transaction_id)
                    .limit(50)
                )
            ).all()
        )
        key = calls.c.tenant_id == tenant_id
        await conn.execute(
            update(calls)
            .where(key, calls.c.transaction_id.in_(ids[:10]))
            .values(direction="local", disposition="answered", bill_sec=calls.c.bill_sec + 7)
        )
        await conn.execute(
            update(calls).where(key, calls.c.transaction_id.in_(ids[10:20])).values(is_deleted=True)
        )
        await conn.execute(
            update(calls)
            .where(key, calls.c.transaction_id.in_(ids[20:30]))
            .values(note="only the note", created_date=calls.c.created_date - 3 * DAY_MS)
        )
        await conn.execute(delete(calls).where(key, calls.c.transaction_id.in_(ids[30:40])))
        await conn.execute(
            update(calls)
            .where(key, calls.c.transaction_id.in_(ids[40:50]))
            .values(hotline=None, queue_destination="7777", sip_user="999", is_auto_call=True)
        )
    assert await _mismatches(engine, tenant_id) == []

    async with engine.connect() as conn:
        named = (await conn.execute(
            select(calls.c.hotline, calls.c.queue_destination, calls.c.sip_user)
            .where(calls.c.tenant_id == tenant_id, calls.c.hotline.is_not(None),
                   calls.c.queue_destination.is_not(None), calls.c.sip_user.is_not(None))
            .limit(1)
        )).one()  # fmt: skip
    hotline, queue, sip_user = named
    rng = random.Random(3)
    end = now_ms()
    async with engine.connect() as conn:
        for _ in range(6):
            to = end - rng.randrange(10 * DAY_MS)
            window = CallFilter(to - rng.randrange(2 * DAY_MS, 30 * DAY_MS), to)
            assert whole_hours(window) is not None
            for f in (
                window,
                replace(window, directions=["inbound"]),
                replace(window, dispositions=["cancelled"], is_auto_call=False),
                replace(window, hotlines=[hotline, "nobody's"], directions=["outbound"]),
                replace(window, queues=[queue, "7777"]),
                replace(window, sip_users=[sip_user], dispositions=["answered"]),
                replace(window, hotlines=[hotline], queues=[queue]),  # two: the calls
            ):
                await _both_ways(conn, tenant_id, f)


def _record(tx: str, day: int, sip_user: str, disposition: str = "answered") -> CallRecord:
    start = day * DAY_MS + 3_600_000
    return CallRecord(tx, start, "inbound", disposition, "0912345678", "1900", sip_user=sip_user)


async def test_batches_that_insert_and_update_the_same_groups_do_not_deadlock(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """Two writers, each inserting calls of one group and moving stored calls of another:
    without their totals locked first in one order, they lock the groups in opposite
    orders (insert, then update) and PostgreSQL kills one (a deadlock, then the slow
    one-by-one fallback). Totals stay exact either way."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the totals' locks are PostgreSQL's")
    tenant = await make_tenant(engine)
    day = now_ms() // DAY_MS - 2
    stored = {user: [str(uuid.uuid4()) for _ in range(20)] for user in ("101", "102")}
    async with writing(engine) as conn:
        await store_calls(
            conn,
            tenant.id,
            [
                Entry(_record(tx, day, user, "no_answer"))
                for user, ids in stored.items()
                for tx in ids
            ],
        )

    async def writer(inserts_for: str, moves_of: str, round_: int) -> None:
        async with writing(engine) as conn:
            entries = [Entry(_record(str(uuid.uuid4()), day, inserts_for)) for _ in range(5)]
            moved = stored[moves_of][round_ * 2 : round_ * 2 + 2]
            entries += [Entry(_record(tx, day, moves_of)) for tx in moved]
            assert await store_calls(conn, tenant.id, entries) == ["stored"] * 5 + ["updated"] * 2

    caplog.set_level(logging.INFO, logger="callhistory")
    for round_ in range(10):
        await asyncio.gather(writer("101", "102", round_), writer("102", "101", round_))
    assert "fell back" not in caplog.text
    assert await _mismatches(engine, tenant.id) == []


Writer = Callable[[int], Awaitable[None]]


async def _race(
    engine: AsyncEngine,
    tenant_id: str,
    caplog: pytest.LogCaptureFixture,
    rounds: int,
    *writers: Writer,
) -> None:
    """The writers side by side, round after round: no batch fell back to one call at a
    time (what a deadlock costs), and the totals stayed exact."""
    caplog.set_level(logging.INFO, logger="callhistory")
    for round_ in range(rounds):
        await asyncio.gather(*(write(round_) for write in writers))
    assert "fell back" not in caplog.text
    assert await _mismatches(engine, tenant_id) == []


def _agent_call(tx: str, at: int, agent: str, disposition: str = "answered") -> Entry:
    """An inbound call at `at` taken by the agent of extension `agent`."""
    record = CallRecord(tx, at, "inbound", disposition, "0912345678", "1900", sip_user=agent)
    return Entry(replace(record, agents=(AgentOnCall(sip_user=agent),)))


async def test_a_batch_of_changes_only_takes_the_totals_in_the_triggers_order(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """A batch that only changes stored calls locks its rollup rows (queues, agents)
    first; had it not locked its hour totals before them, its update's triggers would take
    the hour totals after, while a batch that inserts and changes holds them and waits for
    the queues': a deadlock (bench.ingest saw ten in 20 s of single posts)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the totals' locks are PostgreSQL's")
    tenant = await make_tenant(engine)
    day = now_ms() // DAY_MS - 2

    def queued(tx: str, disposition: str = "answered") -> CallRecord:
        return replace(_record(tx, day, "101", disposition), queue_destination="5001")

    stored = [str(uuid.uuid4()) for _ in range(40)]
    async with writing(engine) as conn:
        await store_calls(conn, tenant.id, [Entry(queued(tx, "no_answer")) for tx in stored])

    async def inserts_and_changes(round_: int) -> None:
        async with writing(engine) as conn:
            entries = [Entry(queued(str(uuid.uuid4()))) for _ in range(5)]
            entries += [Entry(queued(tx)) for tx in stored[round_ * 4 : round_ * 4 + 2]]
            assert await store_calls(conn, tenant.id, entries) == ["stored"] * 5 + ["updated"] * 2

    async def changes_only(round_: int) -> None:
        async with writing(engine) as conn:
            entries = [Entry(queued(tx)) for tx in stored[round_ * 4 + 2 : round_ * 4 + 4]]
            assert await store_calls(conn, tenant.id, entries) == ["updated"] * 2

    await _race(engine, tenant.id, caplog, 10, inserts_and_changes, changes_only)


async def test_a_call_moved_to_another_hour_and_agent_locks_both_pairs_first(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """A stored call moved an hour on and to another agent: its agents are rewritten
    before it, so its update's trigger meets the new agent at the old hour too. Unless
    that pair is locked up front, a batch holding it and waiting for one this batch holds
    deadlocks with it."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the rollups' locks are PostgreSQL's")
    tenant = await make_tenant(engine)
    hour = (now_ms() // DAY_MS - 2) * DAY_MS + 3_600_000

    call = _agent_call
    moving = [str(uuid.uuid4()) for _ in range(20)]  # hour 0, agent 103: to hour 1, agent 102
    elsewhere = [str(uuid.uuid4()) for _ in range(20)]  # hour 5, agent 104, apart from both
    async with writing(engine) as conn:
        await store_calls(conn, tenant.id, [call(tx, hour, "103", "cancelled") for tx in moving])
        await store_calls(
            conn,
            tenant.id,
            [call(tx, hour + 5 * 3_600_000, "104", "no_answer") for tx in elsewhere],
        )

    async def inserts_and_changes(round_: int) -> None:
        # new calls of agent 102 at hours 0 and 1, and a change: its rollups locked first
        entries = [call(str(uuid.uuid4()), hour + h * 3_600_000, "102", "answered") for h in (0, 1)]
        entries.append(call(elsewhere[round_], hour + 5 * 3_600_000, "104", "answered"))
        async with writing(engine) as conn:
            await store_calls(conn, tenant.id, entries)

    async def moves(round_: int) -> None:
        async with writing(engine) as conn:
            await store_calls(
                conn, tenant.id, [call(moving[round_], hour + 3_600_000, "102", "cancelled")]
            )

    await _race(engine, tenant.id, caplog, 20, inserts_and_changes, moves)


@pytest.mark.parametrize("deleter", ["erase", "prune"])
async def test_deleting_beside_a_batch_of_the_same_hour_and_agent_does_not_deadlock(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture, deleter: str
) -> None:
    """Erasure and retention delete a call's agents before the call: unless they lock the
    call's hour totals and rollups first, in ingest's order, they hold the agent's rollup
    row and wait for the hour totals a batch of that hour holds while the batch waits for
    the agent's (retention meets such a batch when old calls are imported while older
    ones are pruned)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the totals' locks are PostgreSQL's")
    tenant = await make_tenant(engine)
    at = (now_ms() // DAY_MS - 2) * DAY_MS + 3_600_000
    doomed = [str(uuid.uuid4()) for _ in range(20)]  # the hour's oldest calls
    changed = [str(uuid.uuid4()) for _ in range(20)]
    async with writing(engine) as conn:
        await store_calls(
            conn,
            tenant.id,
            [
                *(_agent_call(tx, at + i, "101") for i, tx in enumerate(doomed)),
                *(_agent_call(tx, at + 1_000, "101") for tx in changed),
            ],
        )

    async def batch(round_: int) -> None:
        entries = [_agent_call(str(uuid.uuid4()), at + 1_000, "101") for _ in range(3)]
        moved = _agent_call(changed[round_], at + 1_000, "101")
        entries.append(replace(moved, overrides={"bill_sec": round_ + 1}))
        async with writing(engine) as conn:
            assert await store_calls(conn, tenant.id, entries) == ["stored"] * 3 + ["updated"]

    async def remove(round_: int) -> None:
        settings = get_settings()
        if deleter == "erase":
            assert await deletion.erase(engine, settings, tenant.id, doomed[round_], "test")
        else:  # the oldest call, created before the batch's: a doomed one each round
            assert await retention.prune_calls(engine, settings, tenant.id, at + 500, 1) == 1

    await _race(engine, tenant.id, caplog, 20, batch, remove)


BASE = 1_796_000_400_000 // HOUR_MS * HOUR_MS  # a whole UTC hour
_call_spec = st.fixed_dictionaries(
    {
        "minute": st.integers(0, 5 * 60),  # five hours and a bit
        "ms": st.integers(0, 59_999),
        "direction": st.sampled_from(["inbound", "outbound", "local"]),
        "disposition": st.sampled_from(["answered", "cancelled", "no_answer"]),
        "auto": st.booleans(),
        "hotline": st.sampled_from([None, "1900", "1800"]),
        "queue": st.sampled_from([None, "8001", "8002"]),
        "sip_user": st.sampled_from([None, "101", "102"]),
        "bill": st.integers(0, 600),
    }
)
_fates = st.sampled_from(["keep", "resend", "one_column", "erase", "tombstone", "delete"])
# a stored call's column changed alone (a SQLite trigger fires on the columns it names)
_ALONE = {
    "is_auto_call": "auto", "hotline": "hotline", "queue_destination": "queue",
    "sip_user": "sip_user", "direction": "direction", "disposition": "disposition",
    "bill_sec": "bill",
}  # fmt: skip
_filters = st.fixed_dictionaries(
    {
        "directions": st.lists(st.sampled_from(["inbound", "outbound", "local"]), max_size=2),
        "dispositions": st.lists(st.sampled_from(["answered", "cancelled"]), max_size=1),
        "is_auto_call": st.sampled_from([None, True, False]),
        "hotlines": st.lists(st.sampled_from(["1900", "1800"]), max_size=2),
        "queues": st.lists(st.sampled_from(["8001", "8002"]), max_size=1),
        "sip_users": st.lists(st.sampled_from(["101", "102", "103"]), max_size=2),
    }
)


def _spec_record(tx: str, spec: dict[str, Any]) -> CallRecord:
    return CallRecord(
        tx,
        BASE + spec["minute"] * 60_000 + spec["ms"],
        spec["direction"],
        spec["disposition"],
        "0912345678",
        "1900",
        sip_user=spec["sip_user"],
        hotline=spec["hotline"],
        queue_destination=spec["queue"],
        is_auto_call=spec["auto"],
        bill_sec=spec["bill"],
    )


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=st.lists(_call_spec, min_size=1, max_size=15),
    later=st.lists(st.tuples(_fates, _call_spec), min_size=15, max_size=15),
    windows=st.lists(
        st.tuples(st.integers(0, 6 * HOUR_MS), st.integers(0, 6 * HOUR_MS), _filters),
        min_size=3,
        max_size=3,
    ),
)
async def test_the_totals_equal_a_plain_count_after_any_writes(
    engine: AsyncEngine, first: list[dict[str, Any]], later: list[Any], windows: list[Any]
) -> None:
    """Random ingest, then re-sent records that move calls to other hours and values,
    erasures, tombstones, outright deletes and retention: the totals stay a fresh count
    of the calls, and every count and report read from them equals `count(*)`."""
    tenant = await make_tenant(engine)
    ids = [str(uuid.uuid4()) for _ in first]
    async with writing(engine) as conn:
        await store_calls(
            conn, tenant.id, [Entry(_spec_record(tx, s)) for tx, s in zip(ids, first, strict=True)]
        )
    assert await _mismatches(engine, tenant.id) == []

    resent, key = [], calls.c.tenant_id == tenant.id
    for tx, (fate, spec) in zip(ids, later, strict=False):
        if fate == "resend":
            resent.append(Entry(_spec_record(tx, spec)))
        elif fate == "erase":
            await deletion.erase(engine, get_settings(), tenant.id, tx, "test")
        elif fate == "one_column":
            column = list(_ALONE)[spec["minute"] % len(_ALONE)]
            async with writing(engine) as conn:
                await conn.execute(
                    update(calls)
                    .where(key, calls.c.transaction_id == tx)
                    .values({column: spec[_ALONE[column]]})
                )
        elif fate in ("tombstone", "delete"):
            async with writing(engine) as conn:
                one = (key, calls.c.transaction_id == tx)
                if fate == "tombstone":
                    await conn.execute(update(calls).where(*one).values(is_deleted=True))
                else:
                    await conn.execute(delete(calls).where(*one))
    fresh = [Entry(_spec_record(str(uuid.uuid4()), s)) for _, s in later[:4]]
    async with writing(engine) as conn:  # inserts and moves in one batch
        await store_calls(conn, tenant.id, [*resent, *fresh])
    assert await _mismatches(engine, tenant.id) == []

    async with engine.connect() as conn:
        for start, length, filters in windows:
            f = CallFilter(BASE + start - 1234, BASE + start + length + 777, **filters)
            await _both_ways(conn, tenant.id, f)

    await retention.prune_calls(engine, get_settings(), tenant.id, BASE + 2 * HOUR_MS, 1000)
    assert await _mismatches(engine, tenant.id) == []


async def test_a_column_changed_alone_moves_the_call_in_the_totals(engine: AsyncEngine) -> None:
    """Each column the totals depend on, changed on its own (SQLite's triggers fire only
    for the columns they name)."""
    tenant = await make_tenant(engine)
    spec = {
        "minute": 10, "ms": 5, "direction": "inbound", "disposition": "answered", "auto": False,
        "hotline": "1900", "queue": "8001", "sip_user": "101", "bill": 30,
    }  # fmt: skip
    changed = {"created_date": BASE + 3 * HOUR_MS, "direction": "outbound",
               "disposition": "cancelled", "is_auto_call": True, "hotline": None,
               "queue_destination": "8002", "sip_user": "102", "bill_sec": 31}  # fmt: skip
    ids = {column: str(uuid.uuid4()) for column in changed}
    async with writing(engine) as conn:
        await store_calls(conn, tenant.id, [Entry(_spec_record(tx, spec)) for tx in ids.values()])
    for column, value in changed.items():
        async with writing(engine) as conn:
            await conn.execute(
                update(calls)
                .where(calls.c.tenant_id == tenant.id, calls.c.transaction_id == ids[column])
                .values({column: value})
            )
        assert await _mismatches(engine, tenant.id) == [], column
