"""Many rows in one statement: multi-row INSERT and UPDATE for the batch paths (ingest,
the per-hour totals' locks).

On PostgreSQL each column travels as one array literal, unnested server-side: one
statement, one plan and one firing of the statement-level triggers (per-hour totals, the
change feed) whatever the row count; PostgreSQL parses a literal far faster than the
driver encodes a list. SQLite gets an executemany (one prepared statement, reused).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Table, and_, bindparam, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

_POSTGRESQL = postgresql.dialect()  # type: ignore[no-untyped-call]


@functools.lru_cache(maxsize=256)
def _unnested(table: Table, names: tuple[str, ...]) -> tuple[str, str]:
    """(`SELECT u.a, u.b::json …`, `unnest($1::text::type[], …) AS u(a, b)`) for `names`.
    Names come from the schema, quoted. Kept per table and columns: compiling each
    column's type took a twentieth of a worker's time under single posts."""
    quote = _POSTGRESQL.identifier_preparer.quote
    arrays, selected = [], []
    for number, name in enumerate(names, start=1):
        column_type = table.c[name].type
        if isinstance(column_type, JSON):
            arrays.append(f"${number}::text::text[]")
            selected.append(f"u.{quote(name)}::json")
        else:
            arrays.append(f"${number}::text::{column_type.compile(dialect=_POSTGRESQL)}[]")
            selected.append(f"u.{quote(name)}")
    columns = ", ".join(quote(name) for name in names)
    return ", ".join(selected), f"unnest({', '.join(arrays)}) AS u({columns})"


def _literals(
    table: Table, names: Sequence[str], rows: Sequence[dict[str, Any]]
) -> tuple[str, ...]:
    json_names = {n for n in names if isinstance(table.c[n].type, JSON)}
    return tuple(
        array_literal(
            [_json_text(row[name]) for row in rows]
            if name in json_names
            else [row[name] for row in rows]
        )
        for name in names
    )


async def insert_rows(
    conn: AsyncConnection, table: Table, rows: list[dict[str, Any]], tail: str = ""
) -> list[Row[Any]]:
    """Many rows (same keys) in one statement on PostgreSQL, executemany elsewhere.
    `tail` follows the row source (`ORDER BY …`, `ON CONFLICT …`, `RETURNING …`):
    PostgreSQL only. The rows a RETURNING tail returns."""
    if not rows:
        return []
    if conn.dialect.name != "postgresql":
        assert not tail, "the tail is PostgreSQL's"
        await conn.execute(table.insert(), rows)
        return []
    result = await conn.exec_driver_sql(*insert_sql(table, rows, tail))
    return list(result) if result.returns_rows else []


def insert_sql(
    table: Table, rows: list[dict[str, Any]], tail: str = ""
) -> tuple[str, tuple[str, ...]]:
    """insert_rows's PostgreSQL statement and its parameters ($1…$n, one per column), for
    a statement that holds it (`WITH added AS (…) SELECT …`)."""
    names = tuple(rows[0])
    quote = _POSTGRESQL.identifier_preparer.quote
    selected, source = _unnested(table, names)
    columns = ", ".join(quote(name) for name in names)
    statement = (
        f"INSERT INTO {quote(table.name)} ({columns}) SELECT {selected} FROM {source} {tail}"  # noqa: S608 - schema names
    )
    return statement, _literals(table, names, rows)


async def update_rows(
    conn: AsyncConnection, table: Table, keys: Sequence[str], rows: list[dict[str, Any]]
) -> None:
    """Update each row (same keys) matched on the `keys` columns, in one statement on
    PostgreSQL (`UPDATE … FROM unnest(…)`), executemany elsewhere."""
    if not rows:
        return
    names = tuple(rows[0])
    values = [n for n in names if n not in keys]
    if conn.dialect.name != "postgresql":
        # Bound under other names: SQLAlchemy keeps a column's own name for its SET value.
        by_key = (
            update(table)
            .where(and_(*(table.c[k] == bindparam(f"key_{k}") for k in keys)))
            .values({n: bindparam(f"set_{n}") for n in values})
        )
        params = [
            {**{f"key_{k}": row[k] for k in keys}, **{f"set_{n}": row[n] for n in values}}
            for row in rows
        ]
        await conn.execute(by_key, params)
        return
    quote = conn.dialect.identifier_preparer.quote
    selected, source = _unnested(table, names)
    columns = ", ".join(quote(name) for name in names)
    assignments = ", ".join(f"{quote(n)} = v.{quote(n)}" for n in values)
    matches = " AND ".join(f"t.{quote(k)} = v.{quote(k)}" for k in keys)
    statement = (
        f"UPDATE {quote(table.name)} AS t SET {assignments} "  # noqa: S608 - schema names
        f"FROM (SELECT {selected} FROM {source}) AS v({columns}) WHERE {matches}"
    )
    await conn.exec_driver_sql(statement, _literals(table, names, rows))


# What orjson writes for a control character (`\n`, `\u0001`…), where an array literal
# wants the character itself; a backslash it writes for `"` or `\` means the same in both.
_JSON_ONLY_ESCAPE = re.compile(rb"\\[bfnrtu]")


def array_literal(values: Sequence[Any]) -> str:
    """A PostgreSQL array literal: `{1,NULL,"text with \\"quotes\\""}`.

    orjson writes most columns in one C call: a JSON array of strings, numbers, true,
    false and null is an array literal once its brackets are braces, unless a string
    holds a control character (JSON's escapes differ from the literal's there) or a float
    is not finite (JSON has no NaN and would write null). Those go value by value.
    """
    try:
        dumped = orjson.dumps(values)
    except TypeError:  # not JSON (an integer past 64 bits, a lone surrogate…)
        return _literal_by_value(values)
    # A null that is not a None is a float that is not finite (or "null" in a string).
    if _JSON_ONLY_ESCAPE.search(dumped) or dumped.count(b"null") != values.count(None):
        return _literal_by_value(values)
    return "{" + dumped[1:-1].decode() + "}"


def _literal_by_value(values: Sequence[Any]) -> str:
    out = []
    for value in values:
        if value is None:
            out.append("NULL")
        elif value is True:
            out.append("t")
        elif value is False:
            out.append("f")
        elif isinstance(value, int | float):
            out.append(repr(value))
        else:
            out.append('"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(out) + "}"


def _json_text(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()
