"""Datasette beside callhistory on the same SQLite file: the same list, timed alike.

For each list query of bench.api that asks for page 1 (bench-big, the last 30 days, 50
calls, newest first), its twin is the Datasette request a user would make for it:

    GET /<db>/calls.json?_shape=objects&_size=50&_sort_desc=created_date&_nosuggest=1
        &tenant_id=…&created_date__gte=…&created_date__lte=…&is_deleted=0[&direction=…]

with the equality filters as Datasette's own query-string filters (`direction=`,
`disposition=`, `hotline=`, `queue_destination=`, `is_auto_call=`), and what it has no
filter for (agents: a join; keyword: callhistory's LIKE words, no FTS table here) as
`_where=` with callhistory's own SQL condition, values inlined. Datasette counts the
filtered rows on the same request (`filtered_table_rows_count`), as our list returns an
exact total; `_nosuggest=1` skips its facet suggestions (our list computes none).

Not the same work: Datasette returns the `calls` rows as stored, ours joins each page's
agents, tags and evaluations and shapes the contract's items. Datasette's count runs
under `sql_time_limit_ms` (1,000 ms by default) and is dropped without an error (null)
when slower, so null counts are counted and shown; its rows query fails (400) past
that limit. Its order is `created_date desc` with no tie-breaker on page 1 (ours adds
transaction_id desc). Page 200 has no twin: Datasette pages by keyset (`_next`), not
by page number.

Datasette serves the file read-only in immutable mode (`datasette serve -i`): one
process, its default three SQL threads, default settings. Immutable mode ignores the
WAL, so the caller checkpoints first and nothing may write the file while it runs.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import and_, select
from sqlalchemy.dialects import sqlite as sqlite_dialect

from bench import serving
from callhistory.calls import queries
from callhistory.calls.params import CallFilter
from callhistory.schema import calls

PREFIX = "datasette: "
# CallFilter's equality filters and the column Datasette filters on for each.
_COLUMNS = {
    "directions": "direction",
    "dispositions": "disposition",
    "sip_users": "sip_user",
    "hotlines": "hotline",
    "queues": "queue_destination",
}


def executable() -> str | None:
    """Datasette's command: next to this Python's, else on PATH; None if not installed."""
    beside = Path(sys.executable).with_name("datasette")
    return str(beside) if beside.exists() else shutil.which("datasette")


def version(command: str) -> str:
    done = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=60)
    return done.stdout.strip().rsplit(" ", 1)[-1]


@contextlib.contextmanager
def serve(command: str, path: str, port: int) -> Iterator[str]:
    """`datasette serve -i path` on 127.0.0.1:port until the block ends; its base URL."""
    process = subprocess.Popen(
        [command, "serve", "-i", path, "-h", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    with serving.running("datasette", process, lambda: serving.answers(f"{base}/-/versions.json")):
        yield base


def _literal_where(tenant_id: str, f: CallFilter, only: CallFilter) -> str | None:
    """callhistory's SQL for what `only` adds to the window, values inlined, or None."""
    base = queries.where(tenant_id, CallFilter(f.from_ms, f.to_ms))
    extra = queries.where(tenant_id, only)[len(base) :]
    if not extra:
        return None
    compiled = (
        select(calls.c.tenant_id)
        .where(and_(*extra))
        .compile(dialect=sqlite_dialect.dialect(), compile_kwargs={"literal_binds": True})
    )
    return f"({str(compiled).split(chr(10) + 'WHERE ', 1)[1]})"


def params(tenant_id: str, f: CallFilter, size: int) -> dict[str, Any] | None:
    """The twin request's query string for callhistory's filter `f`, or None if none."""
    q: dict[str, Any] = {
        "_shape": "objects",
        "_size": size,
        "_sort_desc": "created_date",
        "_nosuggest": 1,
        "tenant_id": tenant_id,
        "created_date__gte": f.from_ms,
        "created_date__lte": f.to_ms,
        "is_deleted": 0,
    }
    rest: dict[str, Any] = {}
    for spec in fields(CallFilter):
        value = getattr(f, spec.name)
        if spec.name in ("from_ms", "to_ms") or value in (None, []):
            continue
        if spec.name in _COLUMNS:
            column = _COLUMNS[spec.name]
            if len(value) == 1:
                q[column] = value[0]
            else:
                q[f"{column}__in"] = ",".join(value)
        elif spec.name == "is_auto_call":
            q["is_auto_call"] = int(value)
        else:  # agents, user ids, tags, keyword: no Datasette filter; our SQL instead
            rest[spec.name] = value
    if rest:
        where = _literal_where(tenant_id, f, CallFilter(f.from_ms, f.to_ms, **rest))
        if where is None:
            return None
        q["_where"] = where
    return q


@dataclass
class Counts:
    """What Datasette's answers said about their count."""

    missing: int = 0  # filtered_table_rows_count null: timed out (sql_time_limit_ms)
    values: set[int] = field(default_factory=set)

    def inspect(self, response: httpx.Response) -> None:
        count = response.json().get("filtered_table_rows_count")
        if count is None:
            self.missing += 1
        else:
            self.values.add(int(count))


def statements(body: dict[str, Any]) -> list[tuple[str, tuple[Any, ...]]]:
    """The rows query Datasette reports running and its count, as sqlite3 statements."""
    sql, named = body["query"]["sql"], body["query"]["params"]
    names = re.findall(r":(p\d+)\b", sql)
    positional = re.sub(r":p\d+\b", "?", sql)
    args = tuple(named[n] for n in names)
    start, end = positional.index(" from calls "), positional.rindex(" order by ")
    count = f"select count(*){positional[start:end]}"
    return [(positional, args), (count, args)]  # every parameter is the filter's
