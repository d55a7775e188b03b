"""`callhistory ingest rejections` and `callhistory ingest replay`: what ingest refused,
and trying it again once the cause is fixed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth import keys
from callhistory.ingest import rejections
from callhistory.ingest.rejections import Rejection
from callhistory.ingest.replay import ReplayReport, replay
from callhistory.schema import NO_TENANT

ingest_app = typer.Typer(help="What ingest refused, and replaying it.", no_args_is_help=True)
out = Console()

TenantOption = Annotated[str | None, typer.Option("--tenant", help="Tenant name or id.")]


async def _tenant_id(engine: AsyncEngine, tenant: str) -> str:
    async with engine.connect() as conn:
        found = await keys.find_tenant(conn, tenant)
    if found is None:
        raise typer.BadParameter(f"no tenant {tenant!r}", param_hint="--tenant")
    return found.id


def _table(found: list[Rejection], title: str) -> Table:
    table = Table(title=title)
    for column in ("received (UTC)", "id", "source", "reason", "detail", "body", "replayed"):
        table.add_column(column)
    for r in found:
        received = datetime.fromtimestamp(r.received_at / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(
            received,
            r.id,
            r.source,
            r.reason,
            r.detail[:60],
            f"{len(r.body):,} chars",
            "yes" if r.replayed_at else "",
        )
    return table


@ingest_app.command("rejections")
def rejections_command(
    tenant: TenantOption = None,
    unauthenticated: Annotated[
        bool, typer.Option("--unauthenticated", help="Posts whose key named no tenant.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line, bodies included.")
    ] = False,
) -> None:
    """List the newest refused posts and batch items, with their reasons."""
    from callhistory.cli import run_with_engine

    if (tenant is None) == (not unauthenticated):
        raise typer.BadParameter("give --tenant NAME or --unauthenticated")

    async def work(engine: AsyncEngine) -> list[Rejection]:
        owner = NO_TENANT if unauthenticated else await _tenant_id(engine, tenant or "")
        async with engine.connect() as conn:
            return await rejections.recent(conn, owner, limit)

    found = run_with_engine(work)
    if as_json:
        for rejection in found:
            typer.echo(json.dumps(rejection.public(), ensure_ascii=False))
        return
    out.print(_table(found, "unauthenticated posts" if unauthenticated else f"tenant {tenant}"))


@ingest_app.command("replay")
def replay_command(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name or id.")],
    unauthenticated: Annotated[
        bool,
        typer.Option(
            "--unauthenticated",
            help="Also replay posts that named no tenant, as this tenant's (after a key fix).",
        ),
    ] = False,
) -> None:
    """Ingest the tenant's pending rejections again; exit 1 if some still fail."""
    from callhistory.cli import run_with_engine

    async def work(engine: AsyncEngine) -> ReplayReport:
        return await replay(
            engine, await _tenant_id(engine, tenant), unauthenticated=unauthenticated
        )

    report = run_with_engine(work)
    out.print(f"replayed {report.replayed} of {report.tried}")
    for code, count in report.still_failing.most_common():
        out.print(f"  still failing: {code} × {count}")
    if report.still_failing:
        raise typer.Exit(code=1)
