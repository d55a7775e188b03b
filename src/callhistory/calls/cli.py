"""`callhistory calls delete` (a data-protection request, as the API's DELETE) and
`callhistory calls retention` (how long a tenant keeps its calls and recordings)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth import keys
from callhistory.calls import deletion
from callhistory.cli_support import err, fail, run_with_engine
from callhistory.config import get_settings
from callhistory.schema import tenants

calls_app = typer.Typer(help="Erase calls; set how long a tenant keeps them.", no_args_is_help=True)


async def _tenant_id(engine: AsyncEngine, tenant: str) -> str:
    async with engine.connect() as conn:
        found = await keys.find_tenant(conn, tenant)
    if found is None:
        raise fail(f"no tenant {tenant!r}")
    return found.id


@calls_app.command("delete")
def calls_delete(
    transaction_ids: Annotated[list[str], typer.Argument(help="The calls' transaction ids.")],
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name or id.")],
    by: Annotated[str, typer.Option("--by", help="Who asked, for the audit row.")] = "cli",
) -> None:
    """Erase calls: their personal data, agents, tags, evaluations and legs go, a
    tombstone and an audit row stay, and clients hear `deleted` (docs/retention.md)."""

    async def work(engine: AsyncEngine) -> list[str]:
        tenant_id = await _tenant_id(engine, tenant)
        missing = []
        for transaction_id in transaction_ids:
            erased = await deletion.erase(
                engine, get_settings(), tenant_id, transaction_id, f"cli:{by}"
            )
            if erased is None:
                missing.append(transaction_id)
            else:
                removed = "its recording removed" if erased.recording_removed else "no file removed"
                err.print(f"{transaction_id}: erased, {removed}")
        return missing

    missing = run_with_engine(work)
    if missing:
        raise fail(f"no such call: {', '.join(missing)}")


@calls_app.command("retention")
def calls_retention(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name or id.")],
    cdr_days: Annotated[
        int | None, typer.Option("--cdr-days", min=0, help="Keep calls this many days; 0: forever.")
    ] = None,
    recording_days: Annotated[
        int | None,
        typer.Option("--recording-days", min=0, help="Keep recordings this many days; 0: forever."),
    ] = None,
) -> None:
    """Set (or, with no option, show) how long the tenant keeps calls and recordings;
    the worker (or `callhistory prune`) deletes what is older, in small batches."""

    async def work(engine: AsyncEngine) -> tuple[int | None, int | None]:
        tenant_id = await _tenant_id(engine, tenant)
        changes = {
            name: value or None
            for name, value in (("cdr_days", cdr_days), ("recording_days", recording_days))
            if value is not None
        }
        async with engine.begin() as conn:
            if changes:
                await conn.execute(
                    update(tenants).where(tenants.c.id == tenant_id).values(**changes)
                )
            row = (await conn.execute(tenants.select().where(tenants.c.id == tenant_id))).one()
        return row.cdr_days, row.recording_days

    kept_calls, kept_recordings = run_with_engine(work)

    def shown(days: int | None) -> str:
        return f"{days} days" if days else "forever"

    typer.echo(f"calls: {shown(kept_calls)}; recordings: {shown(kept_recordings)}")
