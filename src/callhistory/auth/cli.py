"""`callhistory tenant create` and `callhistory key create|revoke|list`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth import keys
from callhistory.cli_support import err, fail, run_with_engine
from callhistory.config import get_settings

tenant_app = typer.Typer(help="Tenants (customer companies).", no_args_is_help=True)
key_app = typer.Typer(help="API keys.", no_args_is_help=True)


@tenant_app.command("create")
def tenant_create(
    name: str,
    time_zone: Annotated[
        str | None, typer.Option("--time-zone", help="IANA zone; default from settings.")
    ] = None,
) -> None:
    """Create a tenant; prints its id."""
    zone = time_zone or get_settings().default_time_zone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise fail(f"unknown time zone {zone!r}") from exc

    async def work(engine: AsyncEngine) -> str:
        async with engine.begin() as conn:
            if await keys.find_tenant(conn, name):
                raise fail(f"tenant {name!r} already exists")
            return (await keys.create_tenant(conn, name, zone)).id

    typer.echo(run_with_engine(work))


@key_app.command("create")
def key_create(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name or id.")],
    name: Annotated[str, typer.Option("--name", help="A label for the key.")] = "",
    agent: Annotated[
        str | None,
        typer.Option("--agent", help="An agent's email: the key sees only that agent's calls."),
    ] = None,
) -> None:
    """Create an API key for a tenant (or, with --agent, for one agent's calls). The key
    is printed once and never stored."""

    async def work(engine: AsyncEngine) -> tuple[str, str]:
        async with engine.begin() as conn:
            found = await keys.find_tenant(conn, tenant)
            if found is None:
                raise fail(f"no tenant {tenant!r}")
            agent_id = None
            if agent is not None:
                agent_id = await keys.agent_with_email(conn, found.id, agent)
                if agent_id is None:
                    raise fail(
                        f"no agent with email {agent!r} in {found.name} (callhistory agents import)"
                    )
            return await keys.create_key(conn, found.id, name, agent_id)

    key_id, api_key = run_with_engine(work)
    err.print(f"key id {key_id} (use it to revoke); the key, shown once:")
    typer.echo(api_key)


@key_app.command("revoke")
def key_revoke(key_id: str) -> None:
    """Revoke a key by its id: it and every token issued for it stop working at once."""

    async def work(engine: AsyncEngine) -> bool:
        async with engine.begin() as conn:
            return await keys.revoke_key(conn, key_id)

    if not run_with_engine(work):
        raise fail(f"no active key {key_id!r}")
    err.print(f"key {key_id} revoked")


@key_app.command("list")
def key_list(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name or id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """A tenant's keys: id, label, created, revoked or active. Never a secret: only its
    hash is stored, so a lost key cannot be shown again (create another)."""

    async def work(engine: AsyncEngine) -> list[keys.KeyInfo]:
        async with engine.connect() as conn:
            found = await keys.find_tenant(conn, tenant)
            if found is None:
                raise fail(f"no tenant {tenant!r}")
            return await keys.list_keys(conn, found.id)

    listed = run_with_engine(work)
    if as_json:
        typer.echo(json.dumps([_key_fields(k) for k in listed], ensure_ascii=False))
        return
    _print_keys(listed)


def _key_fields(key: keys.KeyInfo) -> dict[str, object]:
    return {
        "id": key.id,
        "name": key.name,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
        "state": "active" if key.revoked_at is None else "revoked",
        "agent": key.agent_email,
    }


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _print_keys(listed: list[keys.KeyInfo]) -> None:
    if not listed:
        err.print("no keys (callhistory key create --tenant NAME)")
        return
    table = Table("key id", "name", "created", "state", "sees")
    for key in listed:
        state = "active" if key.revoked_at is None else f"revoked {_when(key.revoked_at)}"
        sees = f"calls of {key.agent_email}" if key.agent_email else "the whole tenant"
        table.add_row(key.id, key.name, _when(key.created_at), state, sees)
    # Wide enough for the ids whatever the terminal: they are what `key revoke` takes.
    Console(width=max(140, Console().width)).print(table)
