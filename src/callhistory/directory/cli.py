"""`callhistory directory import`: a CSV file into one of a tenant's directories.

The rows go through `store.bulk_upsert`, exactly as the bulk endpoints' items do.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth import keys
from callhistory.cli_support import run_with_engine
from callhistory.db import writing
from callhistory.directory import store
from callhistory.directory.items import FIELDS, KINDS, REQUIRED, Kind
from callhistory.directory.store import BulkReport, ItemResult

directory_app = typer.Typer(
    help="The tenant's directories: agents, customers, hotlines, queues.", no_args_is_help=True
)

CHUNK = 1000  # rows per transaction, the bulk endpoints' limit
_PHONE_SEPARATORS = re.compile(r"[;,]")
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n"}


class KindChoice(StrEnum):
    agents = "agents"
    customers = "customers"
    hotlines = "hotlines"
    queues = "queues"
    prices = "prices"


class CsvProblem(Exception):
    """The file as a whole cannot be read: nothing is imported."""


@dataclass(frozen=True)
class CsvRows:
    items: list[dict[str, Any]]
    lines: list[int]  # the file line each item ends on, for messages
    too_long: list[int]  # lines with more cells than the header has columns


def _cell(kind: Kind, column: str, value: str) -> Any:
    """A CSV cell as the JSON item would give it; what cannot be read is left to the check."""
    if kind == "customers" and column == "phones":
        return [p.strip() for p in _PHONE_SEPARATORS.split(value) if p.strip()]
    if kind == "agents" and column == "active":
        lowered = value.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else value
    return value


def _header(kind: Kind, fieldnames: list[str] | None) -> list[str]:
    if not fieldnames:
        raise CsvProblem("the file has no header row")
    columns = [name.strip().lower() for name in fieldnames]
    unknown = sorted(set(columns) - set(FIELDS[kind]))
    if unknown:
        raise CsvProblem(f"unknown columns for {kind}: {', '.join(unknown)}")
    missing = [name for name in REQUIRED[kind] if name not in columns]
    if missing:
        raise CsvProblem(f"missing columns for {kind}: {', '.join(missing)}")
    if len(set(columns)) != len(columns):
        raise CsvProblem("a column appears twice in the header")
    return columns


def read_csv(path: Path, kind: Kind) -> CsvRows:
    """UTF-8 with or without a byte-order mark; blank cells are absent fields."""
    rows = CsvRows([], [], [])
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            columns = _header(kind, next(reader, None))
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) > len(columns):
                    rows.too_long.append(reader.line_num)
                    continue
                found = ((c, v.strip()) for c, v in zip(columns, cells, strict=False))
                rows.items.append({c: _cell(kind, c, v) for c, v in found if v})
                rows.lines.append(reader.line_num)
    except UnicodeDecodeError as exc:
        raise CsvProblem(f"{path} is not UTF-8 text") from exc
    except csv.Error as exc:
        raise CsvProblem(f"{path}: {exc}") from exc
    return rows


async def import_rows(engine: AsyncEngine, tenant: str, kind: Kind, rows: CsvRows) -> BulkReport:
    """Every row, in transactions of CHUNK rows; results are indexed by row position."""
    async with engine.connect() as conn:
        found = await keys.find_tenant(conn, tenant)
    if found is None:
        raise CsvProblem(f"no tenant {tenant!r}")
    report = BulkReport()
    for start in range(0, len(rows.items), CHUNK):
        async with writing(engine) as conn:
            part = await store.bulk_upsert(
                conn, found.id, kind, rows.items[start : start + CHUNK], first_index=start
            )
        report.results.extend(part.results)
    return report


def _print_report(report: BulkReport, rows: CsvRows) -> None:
    counts = {status: report.count(status) for status in store.STATUSES}
    counts["rejected"] += len(rows.too_long)
    typer.echo(", ".join(f"{status} {n}" for status, n in counts.items()))
    for line in rows.too_long:
        typer.echo(f"line {line}: more cells than columns (quote cells holding a comma)", err=True)
    for result in report.results:
        if result.status == "rejected":
            typer.echo(f"line {rows.lines[result.index]}: {_reasons(result)}", err=True)


def _reasons(result: ItemResult) -> str:
    return "; ".join(f"{e['field']} {e['code']}" for e in result.errors)


@directory_app.command("import")
def import_command(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV with a header row.")
    ],
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name or id.")],
    kind: Annotated[KindChoice, typer.Option("--kind", help="Which directory.")],
) -> None:
    """Create or update directory entries from a CSV file; exit 1 if any row is rejected."""
    chosen = next(k for k in KINDS if k == kind.value)
    try:
        rows = read_csv(file, chosen)
        report = run_with_engine(lambda engine: import_rows(engine, tenant, chosen, rows))
    except CsvProblem as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    _print_report(report, rows)
    if report.count("rejected") or rows.too_long:
        raise typer.Exit(code=1)
