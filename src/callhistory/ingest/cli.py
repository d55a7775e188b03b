"""`callhistory import` (back-filling calls from files), and `callhistory ingest
rejections` and `callhistory ingest replay`: what ingest refused, and trying it again
once the cause is fixed."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as Bar
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory import heap
from callhistory.auth import keys
from callhistory.cli_support import err, fail, run_with_engine
from callhistory.config import get_settings
from callhistory.ingest import rejections
from callhistory.ingest.backfill.imports import ImportFormat, ImportProblem, Summary, run_import
from callhistory.ingest.enrich import RecordingUrls
from callhistory.ingest.rejections import Rejection
from callhistory.ingest.rejections.replay import ReplayReport, replay
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


# ---- callhistory import ----------------------------------------------------------------


def import_command(
    source: Annotated[
        Path, typer.Argument(help="The file; for freeswitch-json, the directory of files.")
    ],
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name or id.")],
    format_: Annotated[
        ImportFormat, typer.Option("--format", help="What the file holds (docs/import.md).")
    ],
    state: Annotated[
        Path | None,
        typer.Option("--state", help="Checkpoint file; default <SOURCE>.import-state."),
    ] = None,
    time_zone: Annotated[
        str | None,
        typer.Option("--time-zone", help="asterisk-csv: the times' zone (default the tenant's)."),
    ] = None,
    restart: Annotated[
        bool, typer.Option("--restart", help="Ignore the checkpoint; read from the start.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Back-fill calls from a file, resumably; exit 1 if anything was rejected."""
    zone = _zone(time_zone)
    bar = _progress_bar(source, format_, hidden=as_json or not sys.stderr.isatty())
    task = bar.add_task("import", total=None)

    def progress(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    async def work(engine: AsyncEngine) -> Summary:
        heap.settle()
        async with engine.connect() as conn:
            found = await keys.find_tenant(conn, tenant)
        if found is None:
            raise ImportProblem(f"no tenant {tenant!r}")
        recordings = RecordingUrls(get_settings().recording_url_template)
        with bar:
            return await run_import(
                engine,
                found,
                format_,
                source,
                state_path=state,
                restart=restart,
                zone=zone,
                recordings=recordings,
                progress=progress,
            )

    try:
        summary = run_with_engine(work)
    except ImportProblem as exc:
        raise fail(str(exc)) from exc
    _print_summary(summary, as_json)
    if summary.rejected:
        raise typer.Exit(code=1)


def _zone(time_zone: str | None) -> ZoneInfo | None:
    if not time_zone:
        return None
    try:
        return ZoneInfo(time_zone)
    except (KeyError, ValueError) as exc:
        raise fail(f"unknown time zone {time_zone!r}") from exc


def _progress_bar(source: Path, fmt: ImportFormat, *, hidden: bool) -> Bar:
    """Files counted for a directory of FreeSWITCH files, bytes for one file."""
    amount = MofNCompleteColumn() if fmt is ImportFormat.freeswitch_json else DownloadColumn()
    return Bar(
        TextColumn(f"importing {source.name}"),
        BarColumn(),
        amount,
        TimeRemainingColumn(),
        console=err,
        disable=hidden,
    )


def _print_summary(summary: Summary, as_json: bool) -> None:
    if as_json:
        typer.echo(orjson.dumps(summary.public()).decode())
        return
    for line in summary_lines(summary):
        typer.echo(line)


def summary_lines(summary: Summary) -> list[str]:
    unit = summary.unit
    calls = "" if unit == "lines" else " (calls)"
    lines = []
    if summary.resumed_at is not None:
        where = "file" if unit == "files" else "byte"
        lines.append(f"resumed after {where} {summary.resumed_at:,}")
    lines.append(f"read {summary.read:,} {unit} in {summary.seconds:.1f}s")
    lines.append(
        f"stored {summary.stored:,}, updated {summary.updated:,}, "
        f"duplicates (unchanged) {summary.unchanged:,}{calls}; rejected {summary.rejected:,}"
    )
    for code, count in summary.reasons.most_common():
        lines.append(f"  rejected {code}: {count:,}")
    if summary.rejected:
        lines.append("the rejected ones are kept: callhistory ingest rejections --tenant NAME")
    if summary.note:
        lines.append(f"note: {summary.note}")
    return lines
