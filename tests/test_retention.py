"""Retention as a whole: its settings, the worker's budget and schedule, `callhistory
prune`, and what the OpenAPI document says about what it expires."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from callhistory import retention
from callhistory.auth import keys
from callhistory.cli import app
from callhistory.config import Settings
from callhistory.db import create_engine, migrate
from callhistory.schema import call_changes
from tests.factories import add_call, make_tenant
from tests.sync.test_pruning import backdate, changes_of
from tests.webhooks.test_pruning import hook, labels_left, seed_deliveries


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings.from_env()
    assert (
        defaults.retention_deliveries_days,
        defaults.retention_parked_days,
        defaults.retention_changes_days,
        defaults.retention_interval_seconds,
    ) == (30, 90, 90, 3600)
    monkeypatch.setenv("CALLHISTORY_RETENTION_DELIVERIES_DAYS", "7")
    monkeypatch.setenv("CALLHISTORY_RETENTION_PARKED_DAYS", "0")
    monkeypatch.setenv("CALLHISTORY_RETENTION_CHANGES_DAYS", "365")
    monkeypatch.setenv("CALLHISTORY_RETENTION_INTERVAL_SECONDS", "60")
    settings = Settings.from_env()
    assert (
        settings.retention_deliveries_days,
        settings.retention_parked_days,
        settings.retention_changes_days,
        settings.retention_interval_seconds,
    ) == (7, 0, 365, 60)
    monkeypatch.setenv("CALLHISTORY_RETENTION_CHANGES_DAYS", "forever")
    with pytest.raises(ValueError, match="CALLHISTORY_RETENTION_CHANGES_DAYS"):
        Settings.from_env()


async def test_a_budget_stops_and_says_there_is_more(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    made = await hook(client, tenant)
    await seed_deliveries(engine, tenant, made["id"])
    first = await retention.prune(engine, Settings(), tenant_id=tenant.id, budget=1)
    assert first.more
    assert (first.total("delivered"), first.total("parked")) == (1, 0)
    rest = await retention.prune(engine, Settings(), tenant_id=tenant.id, budget=100)
    assert not rest.more
    assert (rest.total("delivered"), rest.total("parked")) == (0, 1)
    assert "parked-old" not in await labels_left(engine, tenant)


async def test_the_worker_prunes_on_its_schedule(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    await add_call(engine, tenant)
    await backdate(engine, tenant)
    off = retention.Schedule(Settings(retention_interval_seconds=0))
    await off.run_if_due(engine)
    assert await changes_of(engine, tenant) == 1
    hourly = retention.Schedule(Settings())
    await hourly.run_if_due(engine)  # the first round prunes (every tenant)
    assert await changes_of(engine, tenant) == 0
    assert hourly.next_at > 0  # then not before the hour is up
    await add_call(engine, tenant)
    await backdate(engine, tenant)
    await hourly.run_if_due(engine)
    assert await changes_of(engine, tenant) == 1


def test_prune_command(configured: str) -> None:
    async def seed() -> tuple[str, str]:
        engine = create_engine(configured)
        try:
            await migrate(engine)
            old, young = await make_tenant(engine, "old"), await make_tenant(engine, "young")
            for tenant in (old, young):
                await add_call(engine, tenant)
                await add_call(engine, tenant)
            await backdate(engine, old)
            await backdate(engine, young)
            return old.name, young.name
        finally:
            await engine.dispose()

    async def left(name: str) -> int:
        """The tenant's changes still in the feed."""
        engine = create_engine(configured)
        try:
            async with engine.connect() as conn:
                found = await keys.find_tenant(conn, name)
                assert found is not None
                return int(
                    await conn.scalar(
                        select(func.count())
                        .select_from(call_changes)
                        .where(call_changes.c.tenant_id == found.id)
                    )
                    or 0
                )
        finally:
            await engine.dispose()

    old, young = asyncio.run(seed())
    runner = CliRunner()
    result = runner.invoke(app, ["prune", "--tenant", old])
    assert result.exit_code == 0, result.output
    assert "changes 90 d" in result.output
    line = next(line for line in result.output.splitlines() if old in line)
    assert [cell.strip() for cell in line.split("│")[2:6]] == ["0", "0", "2", "0"]
    assert asyncio.run(left(old)) == 0
    assert asyncio.run(left(young)) == 2  # --tenant: only that one
    again = runner.invoke(app, ["prune", "--tenant", old])
    assert again.exit_code == 0 and "nothing to prune" in again.output
    missing = runner.invoke(app, ["prune", "--tenant", "nobody-here"])
    assert missing.exit_code == 1 and "no tenant" in missing.output


def test_openapi_declares_what_retention_expires(client: httpx.AsyncClient) -> None:
    doc = client._transport.app.openapi()  # type: ignore[attr-defined]
    sync = doc["paths"]["/api/call_transaction/sync"]["get"]["responses"]
    assert "cursor_expired" in sync["410"]["description"]
    download = doc["paths"]["/api/exports/{export_id}/download"]["get"]["responses"]
    assert "export_expired" in download["410"]["description"]
    assert "download_link_expired" in download["410"]["description"]
    assert "expired" in doc["components"]["schemas"]["Export"]["properties"]["status"]["enum"]
