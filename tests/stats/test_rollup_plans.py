"""Migration 0016: the agents' rollup triggers plan their join for the table as it is when
they fire, not as it was the first time a connection fired them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from callhistory.db import create_engine, migrate
from callhistory.ingest.bulk import Entry, store_calls
from callhistory.ingest.records import AgentOnCall, CallRecord
from tests.conftest import _postgres_database
from tests.factories import make_tenant, now_ms

AGENT = AgentOnCall("101", "agent-1", "a@x.vn", "U1", "Agent One")


def _entries(count: int, agents: tuple[AgentOnCall, ...] = (AGENT,)) -> list[Entry]:
    start = now_ms() - 86_400_000
    return [
        Entry(
            CallRecord(
                str(uuid.uuid4()), start + i, "inbound", "answered", "0912345678", "1900",
                sip_user="101", agents=agents,
            )
        )
        for i in range(count)
    ]  # fmt: skip


async def test_the_agents_rollup_join_is_planned_for_the_table_as_it_is() -> None:
    """A connection's first call with an agent meets a calls table of one page; the join
    planned then (a scan of all of calls per agent row) was kept for the connection's
    life, while calls grew, until autovacuum next analysed it."""
    plans: list[str] = []
    async for url in _postgres_database():  # a young database of its own
        engine = create_engine(url)
        try:
            await migrate(engine)
            tenant = await make_tenant(engine)
            async with engine.connect() as conn:
                await conn.execute(text("ANALYZE"))  # statistics taken while empty
                await conn.commit()
                driver: Any = (await conn.get_raw_connection()).driver_connection
                driver.add_log_listener(lambda _, message: plans.append(message.message))
                for setting in (
                    "LOAD 'auto_explain'",
                    "SET auto_explain.log_min_duration = 0",
                    "SET auto_explain.log_nested_statements = on",
                    "SET auto_explain.log_level = notice",
                ):
                    await conn.execute(text(setting))
                await store_calls(conn, tenant.id, _entries(1))  # the first firing
                await conn.commit()
                async with engine.begin() as other:  # calls grows, elsewhere
                    await store_calls(other, tenant.id, _entries(3000, agents=()))
                plans.clear()
                await store_calls(conn, tenant.id, _entries(1))
                await conn.commit()
        finally:
            await engine.dispose()
    joins = [p for p in plans if "INSERT INTO agent_hour_totals" in p and " calls c" in p]
    assert joins, plans
    assert all("Seq Scan on calls" not in plan for plan in joins), joins[0]
