"""`callhistory prune`: run retention (callhistory.retention) to the end, now.

Beside retention.py rather than in it: the worker imports retention, and it needs no
command line.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory import retention
from callhistory.auth import keys
from callhistory.cli_support import fail, run_with_engine
from callhistory.config import Settings, get_settings
from callhistory.retention import KINDS, Report


def prune(
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Only this tenant (name or id).")
    ] = None,
) -> None:
    """Delete what retention allows now (old deliveries and changes, expired export
    files) and print what was deleted; the worker does it too, every
    CALLHISTORY_RETENTION_INTERVAL_SECONDS."""
    settings = get_settings()
    report = run_with_engine(lambda engine: _prune(engine, settings, tenant))
    _print_report(report, settings)


async def _prune(engine: AsyncEngine, settings: Settings, tenant: str | None) -> Report:
    only = None
    if tenant is not None:
        async with engine.connect() as conn:
            found = await keys.find_tenant(conn, tenant)
        if found is None:
            raise fail(f"no tenant {tenant!r}")
        only = found.id
    return await retention.prune(engine, settings, tenant_id=only)


def _print_report(report: Report, settings: Settings) -> None:
    out = Console(width=max(120, Console().width))  # a row per tenant, whatever the terminal
    days = {
        "delivered": settings.retention_deliveries_days,
        "parked": settings.retention_parked_days,
        "changes": settings.retention_changes_days,
    }
    kept = ", ".join(f"{k} {f'{d} d' if d > 0 else 'forever'}" for k, d in days.items())
    out.print(
        f"retention: {kept}; export files until their links expire; calls and recordings"
        " as each tenant keeps them (callhistory tenant retention)",
        highlight=False,
    )
    if not report.tenants:
        out.print("nothing to prune")
        return
    table = Table("tenant")
    for heading in ("delivered", "parked", "changes", "export files", "calls", "recordings"):
        table.add_column(heading, justify="right")
    for pruned in report.tenants:
        table.add_row(pruned.tenant, *(f"{pruned.counts[k]:,}" for k in KINDS))
    if len(report.tenants) > 1:
        table.add_row("total", *(f"{report.total(k):,}" for k in KINDS), style="bold")
    out.print(table)
