"""Migration 0017 on both stores: the per-hour totals start exact from the calls already
stored and stay so; a downgrade brings back 0006's per-day totals, exact on PostgreSQL
(the only store that kept them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.db import _alembic_config, create_engine, migrate, now_ms
from tests.calls.test_hour_totals import _mismatches
from tests.conftest import _postgres_database
from tests.factories import add_call, make_tenant

HOUR = 3_600_000


async def _to(engine: AsyncEngine, revision: str, *, down: bool = False) -> None:
    move = command.downgrade if down else command.upgrade
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: move(_alembic_config(sync), revision))


@pytest.fixture(params=["sqlite", "postgresql"])
async def at_0016(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
        await _to(engine, "0016")
        yield engine
        await engine.dispose()
        return
    async for url in _postgres_database():
        engine = create_engine(url)
        await _to(engine, "0016")
        yield engine
        await engine.dispose()


async def test_the_totals_are_counted_from_the_stored_calls(at_0016: AsyncEngine) -> None:
    tenant = await make_tenant(at_0016)
    start = now_ms() // HOUR * HOUR - 30 * HOUR
    for i in range(12):
        await add_call(
            at_0016,
            tenant,
            created_date=start + i * 2_000_003,
            direction=("inbound", "outbound", "local")[i % 3],
            disposition=("answered", "cancelled")[i % 2],
            queue_destination=None if i % 4 else "8001",
            sip_user=None if i % 5 == 0 else f"10{i % 3}",
            is_auto_call=i % 6 == 0,
        )
    await migrate(at_0016)
    assert await _mismatches(at_0016, tenant.id) == []
    await add_call(at_0016, tenant, created_date=start, queue_destination="8002")  # triggers
    assert await _mismatches(at_0016, tenant.id) == []

    await _to(at_0016, "0016", down=True)
    async with at_0016.connect() as conn:
        day_totals = await conn.scalar(text("SELECT sum(calls) FROM call_day_totals"))
        triggers = await conn.scalar(
            text("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'call_day_totals_%'")
            if at_0016.dialect.name == "postgresql"
            else text("SELECT count(*) FROM sqlite_master WHERE name LIKE 'call_hour_totals%'")
        )
    if at_0016.dialect.name == "postgresql":
        assert (day_totals, triggers) == (13, 3)
    else:  # as 0006 left it: empty, and nothing of 0017's left
        assert (day_totals, triggers) == (None, 0)
    await migrate(at_0016)
    assert await _mismatches(at_0016, tenant.id) == []
    async with at_0016.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM calls")) == 13
        assert await conn.scalar(select(func.count()).select_from(text("call_hour_totals")))
