"""A tenant's retention of calls (`cdr_days`) and recordings (`recording_days`): what is
older goes, in batches, with the totals kept exact; what is younger stays; other tenants
are untouched; NULL (the default) keeps everything."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from callhistory import retention
from callhistory.calls import queries
from callhistory.calls.params import CallFilter
from callhistory.cli import app as cli_app
from callhistory.config import get_settings
from callhistory.db import create_engine
from callhistory.schema import call_users, calls, tenants
from tests.factories import DAY_MS, Tenant, add_agent, add_call, make_tenant, now_ms


async def _keep(engine: AsyncEngine, tenant: Tenant, **days: int | None) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(tenants).where(tenants.c.id == tenant.id).values(**days))


async def _count(engine: AsyncEngine, table: object, tenant: Tenant) -> int:
    async with engine.connect() as conn:
        return int(
            await conn.scalar(
                select(func.count()).select_from(table).where(table.c.tenant_id == tenant.id)  # type: ignore[attr-defined]
            )
            or 0
        )


async def test_calls_older_than_cdr_days_go_with_their_parts(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 7)  # several batches
    tenant, neighbour = await make_tenant(engine), await make_tenant(engine)
    agent = await add_agent(engine, tenant, "Lê Hoa", "105", "hoa@x.vn")
    now = now_ms()
    for n in range(20):
        (tmp_path / f"{n}.wav").write_bytes(b"RIFF")
        await add_call(
            engine,
            tenant,
            created_date=now - (40 + n) * DAY_MS,
            agents_on_call=[agent],
            tags=["VIP"],
            recording_path=f"{n}.wav",
        )
    young = [await add_call(engine, tenant, created_date=now - n * DAY_MS) for n in range(1, 6)]
    await add_call(engine, neighbour, created_date=now - 100 * DAY_MS)
    await _keep(engine, tenant, cdr_days=30)
    settings = replace(get_settings(), recordings_dir=str(tmp_path))
    report = await retention.prune(engine, settings, now)
    assert report.total("calls") == 20
    async with engine.connect() as conn:
        left = set(
            await conn.scalars(select(calls.c.transaction_id).where(calls.c.tenant_id == tenant.id))
        )
        # the API's count (whole hours come from the hour totals)
        counted = await queries.count(conn, tenant.id, CallFilter(now - 60 * DAY_MS, now))
    assert left == set(young)
    assert counted == 5  # whole hours from the hour totals
    assert await _count(engine, call_users, tenant) == 0
    assert os.listdir(tmp_path) == []  # their recordings, from our folder
    assert await _count(engine, calls, neighbour) == 1  # its own retention: none set
    again = await retention.prune(engine, settings, now)
    assert again.total("calls") == 0


async def test_recordings_older_than_recording_days_are_forgotten(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    tenant = await make_tenant(engine)
    now = now_ms()
    old = await add_call(engine, tenant, created_date=now - 10 * DAY_MS, recording_path="old.wav")
    new = await add_call(engine, tenant, created_date=now - 3 * DAY_MS, recording_path="new.wav")
    for name in ("old.wav", "new.wav"):
        (tmp_path / name).write_bytes(b"RIFF")
    await _keep(engine, tenant, recording_days=7)
    settings = replace(get_settings(), recordings_dir=str(tmp_path))
    report = await retention.prune(engine, settings, now, tenant_id=tenant.id)
    assert report.total("recordings") == 1 and report.total("calls") == 0
    async with engine.connect() as conn:
        rows = {
            r.transaction_id: r
            for r in await conn.execute(select(calls).where(calls.c.tenant_id == tenant.id))
        }
    assert rows[old].recording_path is None and rows[old].recording_file is None
    assert rows[new].recording_path == "new.wav"
    assert os.listdir(tmp_path) == ["new.wav"]


async def test_a_forgotten_recording_is_recording_not_found(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    old = await add_call(
        engine, tenant, created_date=now_ms() - 10 * DAY_MS, recording_file="https://r.vn/a.mp3"
    )
    await _keep(engine, tenant, recording_days=7)
    await retention.prune(engine, get_settings(), tenant_id=tenant.id)
    answer = await client.get(f"/api/call_transaction/recording/{old}", headers=tenant.headers)
    assert answer.json()["message"] == "recording_not_found"


def test_the_retention_command_sets_and_shows(configured: str, engine: AsyncEngine) -> None:
    # `engine` migrates the database the command opens
    async def seed() -> Tenant:
        own = create_engine(configured)
        try:
            return await make_tenant(own, "keep-cli")
        finally:
            await own.dispose()

    tenant = asyncio.run(seed())
    runner = CliRunner()
    shown = runner.invoke(cli_app, ["calls", "retention", "--tenant", tenant.name])
    assert shown.exit_code == 0 and "calls: forever; recordings: forever" in shown.output
    base = ["calls", "retention", "--tenant", tenant.name]
    both = runner.invoke(cli_app, [*base, "--cdr-days", "365", "--recording-days", "90"])
    assert "calls: 365 days; recordings: 90 days" in both.output
    back = runner.invoke(cli_app, [*base, "--recording-days", "0"])
    assert "calls: 365 days; recordings: forever" in back.output
    refused = runner.invoke(cli_app, [*base, "--cdr-days", "-1"])
    assert refused.exit_code != 0
