"""`callhistory export`: a tenant's calls to a file, whatever the window's size."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth import keys
from callhistory.cli_support import err, fail, run_with_engine


def export_command(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name or id.")],
    out: Annotated[str, typer.Option("--out", help="File to write.")],
    from_date: Annotated[int, typer.Option("--from", help="Epoch ms (default: all).")] = 0,
    to_date: Annotated[int | None, typer.Option("--to", help="Epoch ms (default: now).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, csv.gz or xlsx.")] = "csv",
    time_zone: Annotated[str | None, typer.Option("--time-zone")] = None,
    date_format: Annotated[str | None, typer.Option("--date-format")] = None,
    direction: Annotated[list[str] | None, typer.Option("--direction")] = None,
    disposition: Annotated[list[str] | None, typer.Option("--disposition")] = None,
    keyword: Annotated[str | None, typer.Option("--keyword")] = None,
    min_duration: Annotated[int | None, typer.Option("--min-duration", help="Seconds.")] = None,
    max_duration: Annotated[int | None, typer.Option("--max-duration", help="Seconds.")] = None,
    hangup_cause: Annotated[list[str] | None, typer.Option("--hangup-cause")] = None,
    has_recording: Annotated[
        bool | None, typer.Option("--has-recording/--no-recording", show_default=False)
    ] = None,
    min_mos: Annotated[float | None, typer.Option("--min-mos")] = None,
    max_mos: Annotated[float | None, typer.Option("--max-mos")] = None,
) -> None:
    """Export a tenant's calls (any window, any size) to a file, with a progress bar."""
    body = {
        "from_date": from_date,
        "to_date": to_date if to_date is not None else int(time.time() * 1000),
        "format": fmt,
        "time_zone": time_zone,
        "date_format": date_format,
        "direction": direction or [],
        "disposition": disposition or [],
        "keyword": keyword,
        "min_duration": min_duration,
        "max_duration": max_duration,
        "hangup_cause": hangup_cause or [],
        "has_recording": has_recording,
        "min_mos": min_mos,
        "max_mos": max_mos,
    }
    rows = run_with_engine(lambda engine: _export(engine, tenant, body, Path(out)))
    err.print(f"{rows} calls written to {out}")


async def _export(engine: AsyncEngine, tenant: str, body: dict[str, Any], out: Path) -> int:
    """Write the file as the API's export job would; the number of calls written."""
    # Imported when the command runs: the writers pull in the dashboard's sheets.
    from rich.progress import Progress

    from callhistory.calls import queries
    from callhistory.envelope import ApiError
    from callhistory.exports import runner

    async with engine.connect() as conn:
        found = await keys.find_tenant(conn, tenant)
        if found is None:
            raise fail(f"no tenant {tenant!r}")
        try:
            f = runner.call_filter(body)
            chosen, zone, date_fmt = runner.check_options(body, found.time_zone)
        except ApiError as exc:
            raise fail(f"{exc.code}: {exc.payload}") from exc
        total = await queries.count(conn, found.id, f)
    with Progress(console=err) as bar:
        task = bar.add_task("exporting", total=total)
        await runner.write_file(
            engine,
            found.id,
            f,
            chosen,
            zone,
            date_fmt,
            out,
            lambda rows: bar.update(task, completed=rows),
        )
        bar.update(task, completed=total)
    return total
