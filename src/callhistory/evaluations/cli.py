"""`callhistory criteria import|list`: a tenant's evaluation criteria from the shell.

An import is all or nothing: every row is checked as the API checks a create, and the
file is written in one transaction only when none is refused. Rows match the active
criteria by name (case- and diacritics-insensitive): a match is updated, the rest are
added at the end of the form, in the file's order.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth import keys
from callhistory.cli_support import run_with_engine
from callhistory.db import writing
from callhistory.envelope import ApiError
from callhistory.evaluations import criteria, shapes
from callhistory.evaluations.criteria import CriterionIn
from callhistory.text import fold

criteria_app = typer.Typer(help="The tenant's call-evaluation criteria.", no_args_is_help=True)

COLUMNS = ("name", "description", "max_score", "weight")
_NUMERIC = ("max_score", "weight")


class CsvProblem(Exception):
    """The file cannot be imported; nothing is written."""


def _cell(column: str, value: str) -> Any:
    """A cell as a JSON body would give it; what is not a number is left to the check."""
    if column not in _NUMERIC:
        return value
    for convert in (int, float):
        try:
            return convert(value)
        except ValueError:
            continue
    return value


def read_csv(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line, item) for each non-blank row; UTF-8 with or without a byte-order mark."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [name.strip().lower() for name in next(reader, None) or []]
            unknown = sorted(set(header) - set(COLUMNS))
            if not header or unknown or "name" not in header or "max_score" not in header:
                raise CsvProblem(
                    f"the header must name columns among {', '.join(COLUMNS)}, "
                    "with name and max_score"
                )
            rows, too_long = [], []
            for cells in reader:
                if len(cells) > len(header):
                    too_long.append(f"line {reader.line_num}: more cells than columns")
                elif any(cell.strip() for cell in cells):
                    found = zip(header, (c.strip() for c in cells), strict=False)
                    item = {col: _cell(col, value) for col, value in found if value}
                    rows.append((reader.line_num, item))
    except UnicodeDecodeError as exc:
        raise CsvProblem(f"{path} is not UTF-8 text") from exc
    except csv.Error as exc:
        raise CsvProblem(f"{path}: {exc}") from exc
    if too_long:
        raise CsvProblem("\n".join([*too_long, "(quote cells that hold a comma)"]))
    return rows


def check_rows(rows: list[tuple[int, dict[str, Any]]]) -> list[CriterionIn]:
    """Every row checked; all the refusals at once, one line each."""
    checked: list[CriterionIn] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, item in rows:
        try:
            new = criteria.parse(item, creating=True)
        except ApiError as exc:
            problems.extend(f"line {line}: {p['field']} {p['code']}" for p in exc.payload or [])
            continue
        folded = fold(new.name or "")
        if folded in seen:
            problems.append(f"line {line}: name repeats line {seen[folded]}")
        seen.setdefault(folded, line)
        checked.append(new)
    if problems:
        raise CsvProblem("\n".join(problems))
    return checked


async def _tenant_id(engine: AsyncEngine, tenant: str) -> str:
    async with engine.connect() as conn:
        found = await keys.find_tenant(conn, tenant)
    if found is None:
        raise CsvProblem(f"no tenant {tenant!r}")
    return found.id


async def import_criteria(
    engine: AsyncEngine, tenant: str, rows: list[CriterionIn]
) -> dict[str, int]:
    tenant_id = await _tenant_id(engine, tenant)
    try:
        async with writing(engine) as conn:
            return await criteria.import_rows(conn, tenant_id, rows)
    except ApiError as exc:  # e.g. too_many_criteria: the transaction is rolled back
        raise CsvProblem(exc.code) from exc


@criteria_app.command("import")
def import_command(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV with a header row.")
    ],
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name or id.")],
) -> None:
    """Create or update criteria from a CSV file (name, max_score, description, weight)."""
    try:
        rows = check_rows(read_csv(file))
        counts = run_with_engine(lambda engine: import_criteria(engine, tenant, rows))
    except CsvProblem as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(", ".join(f"{outcome} {n}" for outcome, n in counts.items()))


@criteria_app.command("list")
def list_command(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name or id.")],
    include_inactive: Annotated[
        bool, typer.Option("--all", help="Also deactivated criteria, after the active ones.")
    ] = False,
) -> None:
    """The criteria in the form's order, tab-separated with a header row."""

    async def work(engine: AsyncEngine) -> list[dict[str, Any]]:
        tenant_id = await _tenant_id(engine, tenant)
        async with engine.connect() as conn:
            rows = await criteria.listing(conn, tenant_id, include_inactive)
        return [shapes.criterion(row) for row in rows]

    try:
        items = run_with_engine(work)
    except CsvProblem as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    shown = ("id", "name", "max_score", "weight", "active", "description")
    typer.echo("\t".join(shown))
    for item in items:
        typer.echo("\t".join(_tsv(item[key]) for key in shown))


def _tsv(value: Any) -> str:
    """One cell: booleans as true/false, tabs and line breaks in text made spaces."""
    if isinstance(value, bool):
        return str(value).lower()
    return " ".join(str(value).split())
