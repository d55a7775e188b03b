"""The command line: migrate, tenants and keys (create, list, revoke), against each store."""

from __future__ import annotations

import json
import secrets

from typer.testing import CliRunner

from callhistory.auth import keys
from callhistory.cli import app
from callhistory.db import create_engine

runner = CliRunner()


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


def test_key_list_shows_keys_never_secrets(configured: str) -> None:
    name = f"list-{secrets.token_hex(4)}"
    assert runner.invoke(app, ["tenant", "create", name]).exit_code == 0
    made = [
        runner.invoke(app, ["key", "create", "--tenant", name, "--name", label]).stdout.strip()
        for label in ("pbx", "crm")
    ]
    assert all(k.startswith("ch_") for k in made)
    ids = [k.split("_")[2] for k in made]
    assert runner.invoke(app, ["key", "revoke", ids[0]]).exit_code == 0

    table = runner.invoke(app, ["key", "list", "--tenant", name])
    assert table.exit_code == 0, table.output
    lines = {i: next(line for line in table.stdout.splitlines() if i in line) for i in ids}
    assert "pbx" in lines[ids[0]] and "revoked" in lines[ids[0]]
    assert "crm" in lines[ids[1]] and "active" in lines[ids[1]]
    listed = runner.invoke(app, ["key", "list", "--tenant", name, "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["name"], r["state"]) for r in rows] == [
        (ids[0], "pbx", "revoked"),
        (ids[1], "crm", "active"),
    ]
    assert rows[0]["revoked_at"] >= rows[0]["created_at"] > 0 and rows[1]["revoked_at"] is None
    for shown in (table.output, listed.output):
        assert all(k.split("_", 3)[3] not in shown for k in made)


def test_key_list_refuses_an_unknown_tenant(configured: str) -> None:
    result = runner.invoke(app, ["key", "list", "--tenant", f"nobody-{secrets.token_hex(4)}"])
    assert result.exit_code == 1 and "no tenant" in result.stderr


def test_key_list_of_a_tenant_without_keys(configured: str) -> None:
    name = f"bare-{secrets.token_hex(4)}"
    assert runner.invoke(app, ["tenant", "create", name]).exit_code == 0
    result = runner.invoke(app, ["key", "list", "--tenant", name, "--json"])
    assert result.exit_code == 0 and result.stdout.strip() == "[]"
    assert "no keys" in runner.invoke(app, ["key", "list", "--tenant", name]).stderr
