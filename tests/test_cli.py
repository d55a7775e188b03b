"""The command line: migrate, tenants and keys, against each store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from callhistory.auth import keys
from callhistory.cli import app
from callhistory.config import get_settings
from callhistory.db import create_engine

runner = CliRunner()


@pytest.fixture
def configured(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CALLHISTORY_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


def test_tenant_key_lifecycle(configured: str) -> None:
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    created = runner.invoke(app, ["tenant", "create", "cli-co", "--time-zone", "Asia/Bangkok"])
    assert created.exit_code == 0, created.output
    again = runner.invoke(app, ["tenant", "create", "cli-co"])
    assert again.exit_code == 1 and "already exists" in again.output

    made = runner.invoke(app, ["key", "create", "--tenant", "cli-co"])
    assert made.exit_code == 0, made.output
    api_key = made.stdout.strip().splitlines()[-1]
    assert api_key.startswith("ch_")
    assert runner.invoke(app, ["key", "create", "--tenant", "nobody"]).exit_code == 1

    import asyncio

    async def verify() -> bool:
        engine = create_engine(configured)
        try:
            async with engine.connect() as conn:
                return await keys.verify_key(conn, api_key) is not None
        finally:
            await engine.dispose()

    assert asyncio.run(verify())
    key_id = api_key.split("_")[2]
    assert runner.invoke(app, ["key", "revoke", key_id]).exit_code == 0
    assert not asyncio.run(verify())
    assert runner.invoke(app, ["key", "revoke", key_id]).exit_code == 1


def test_unknown_time_zone_is_refused(configured: str) -> None:
    result = runner.invoke(app, ["tenant", "create", "tz-co", "--time-zone", "Mars/Olympus"])
    assert result.exit_code == 1 and "unknown time zone" in result.output
