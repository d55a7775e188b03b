"""`callhistory ingest rejections` and `callhistory ingest replay`."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner

from callhistory.auth import keys
from callhistory.cli import app
from callhistory.db import create_engine, migrate
from callhistory.ingest import rejections
from tests.ingest.freeswitch_posts import document

runner = CliRunner()


def _refuse(url: str, tenant: str, body: bytes) -> None:
    async def work() -> None:
        engine = create_engine(url)
        try:
            await migrate(engine)
            async with engine.connect() as conn:
                found = await keys.find_tenant(conn, tenant)
            assert found is not None
            await rejections.record(
                engine,
                found.id,
                source="freeswitch",
                reason="invalid_json",
                content_type="application/json",
                body=body,
            )
        finally:
            await engine.dispose()

    asyncio.run(work())


def test_list_then_replay(configured: str) -> None:
    assert runner.invoke(app, ["tenant", "create", "replay-co"]).exit_code == 0
    _refuse(configured, "replay-co", document("local-answered-aleg"))
    _refuse(configured, "replay-co", b"{truncated")

    table = runner.invoke(app, ["ingest", "rejections", "--tenant", "replay-co"])
    assert table.exit_code == 0, table.output
    listed = runner.invoke(app, ["ingest", "rejections", "--tenant", "replay-co", "--json"])
    assert [json.loads(line)["body"] for line in listed.output.splitlines()] == [
        "{truncated",
        document("local-answered-aleg").decode(),
    ]

    replayed = runner.invoke(app, ["ingest", "replay", "--tenant", "replay-co"])
    assert replayed.exit_code == 1  # one is still broken
    assert "replayed 1 of 2" in replayed.output
    assert "invalid_json × 1" in replayed.output


def test_rejections_needs_a_tenant_or_unauthenticated(configured: str) -> None:
    assert runner.invoke(app, ["ingest", "rejections"]).exit_code == 2
    assert runner.invoke(app, ["ingest", "rejections", "--unauthenticated"]).exit_code == 0
    assert runner.invoke(app, ["ingest", "replay", "--tenant", "nobody-here"]).exit_code == 2
