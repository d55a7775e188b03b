"""Migration 0014 deletes the agents and tags an erased call still has, on both stores:
calls.parts counts those rows as live calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.db import _alembic_config, create_engine, migrate
from callhistory.schema import agent_hour_totals, call_tags, call_users, calls
from tests.conftest import _postgres_database
from tests.factories import add_agent, add_call, make_tenant


@pytest.fixture(params=["sqlite", "postgresql"])
async def at_0013(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async def made(url: str) -> AsyncEngine:
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "0013"))
        return engine

    if request.param == "sqlite":
        engine = await made(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        await engine.dispose()
        return
    async for url in _postgres_database():
        engine = await made(url)
        yield engine
        await engine.dispose()


async def _parts(engine: AsyncEngine, transaction_id: str) -> tuple[int, int]:
    async with engine.connect() as conn:
        found = [
            await conn.scalar(
                select(func.count()).select_from(t).where(t.c.transaction_id == transaction_id)
            )
            for t in (call_users, call_tags)
        ]
    return int(found[0] or 0), int(found[1] or 0)


async def test_an_erased_calls_parts_go_and_a_live_calls_stay(at_0013: AsyncEngine) -> None:
    tenant = await make_tenant(at_0013)
    agent = await add_agent(at_0013, tenant, "Hồ Văn Nam", "301")
    live = await add_call(at_0013, tenant, agents_on_call=[agent], tags=["vip"])
    erased = await add_call(at_0013, tenant, agents_on_call=[agent], tags=["vip"])
    async with at_0013.begin() as conn:  # a tombstone written before the rule held
        await conn.execute(
            update(calls).where(calls.c.transaction_id == erased).values(is_deleted=True)
        )
    await migrate(at_0013)
    assert await _parts(at_0013, live) == (1, 1)
    assert await _parts(at_0013, erased) == (0, 0)
    async with at_0013.connect() as conn:  # the rollups still count the live call alone
        kept = await conn.scalar(
            select(func.sum(agent_hour_totals.c.calls)).where(
                agent_hour_totals.c.tenant_id == tenant.id
            )
        )
    assert kept == 1
