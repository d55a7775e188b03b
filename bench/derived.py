"""The tables triggers on `calls` maintain, made exact after a load that bypassed them.

bench.load writes calls with the triggers off (PostgreSQL: session_replication_role =
replica; SQLite: dropped for the load and created again after), then writes what they
would have written, one statement per table, as the migrations that made them backfill
the calls already there:

- `call_changes`, the change feed (migration 0007): one 'insert' per call, oldest first
  (created_date, transaction_id), changed_at = last_updated_date; sequence numbers from
  `call_changes_seq` (PostgreSQL) or after `call_changes_counter`, moved on by as many
  (SQLite), so the next real write continues the feed.
- `agent_hour_totals`, `queue_hour_totals`, the stats' hourly rollups (migration 0013),
  and `call_hour_totals`, the calls' per-hour totals (migration 0017): recounted with
  `callhistory.stats.queries.rollup_sql` where a trigger on calls keeps them (both
  stores).

`check_*` then verifies both exactly and raises `Inconsistent` if not.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import asyncpg

from callhistory.stats.queries import rollup_sql

CHANGES = "call_changes"

_SQLITE_CHANGES = """
INSERT INTO call_changes (tenant_id, xid, seq, transaction_id, kind, changed_at)
SELECT tenant_id, 0,
       (SELECT value FROM call_changes_counter)
         + row_number() OVER (ORDER BY created_date, transaction_id),
       transaction_id, 'insert', last_updated_date
FROM calls WHERE tenant_id IN ({marks})
"""
_POSTGRES_CHANGES = """
INSERT INTO call_changes (tenant_id, xid, seq, transaction_id, kind, changed_at)
SELECT tenant_id, 0, nextval('call_changes_seq'), transaction_id, 'insert', last_updated_date
FROM (SELECT tenant_id, transaction_id, last_updated_date FROM calls
      WHERE tenant_id = ANY($1) ORDER BY created_date, transaction_id) AS c
"""
_POSTGRES_TRIGGER_SOURCES = """
SELECT t.tgname || ' ' || pg_get_functiondef(t.tgfoid) FROM pg_trigger AS t
WHERE t.tgrelid = 'calls'::regclass AND NOT t.tgisinternal
"""


class Inconsistent(AssertionError):
    """A derived table does not match the calls it derives from."""


def maintained(trigger_sources: Sequence[str], table: str) -> bool:
    """Whether a trigger on `calls` (name and body) writes `table`."""
    return any(table in source for source in trigger_sources)


# --- SQLite (sqlite3, autocommit connection) ------------------------------------------------


def sqlite_triggers(db: sqlite3.Connection, tables: Sequence[str]) -> list[tuple[str, str, str]]:
    """(name, table, CREATE statement) of the triggers on these tables."""
    marks = ", ".join("?" * len(tables))
    return [
        (str(name), str(table), str(sql))
        for name, table, sql in db.execute(
            f"SELECT name, tbl_name, sql FROM sqlite_master "
            f"WHERE type = 'trigger' AND tbl_name IN ({marks}) ORDER BY name",
            tuple(tables),
        )
    ]


def rebuild_sqlite(db: sqlite3.Connection, tenant_ids: Sequence[str], sources: list[str]) -> None:
    """Fill the derived tables for the loaded tenants' calls, in one transaction."""
    db.execute("BEGIN")
    if maintained(sources, CHANGES):
        marks = ", ".join("?" * len(tenant_ids))
        added = db.execute(_SQLITE_CHANGES.format(marks=marks), tuple(tenant_ids)).rowcount
        db.execute("UPDATE call_changes_counter SET value = value + ?", (added,))
    for table, (rebuild, _) in rollup_sql(sqlite.dialect()).items():
        if maintained(sources, table):
            for statement in rebuild:
                db.execute(statement)
    db.execute("COMMIT")


def check_sqlite(db: sqlite3.Connection, tenant_ids: Sequence[str], sources: list[str]) -> str:
    """Raise Inconsistent unless the derived tables are exact; a one-line summary."""
    marks = ", ".join("?" * len(tenant_ids))
    ids = tuple(tenant_ids)

    def one(sql: str, args: tuple[Any, ...] = ()) -> int:
        return int(db.execute(sql, args).fetchone()[0] or 0)

    loaded = one(f"SELECT count(*) FROM calls WHERE tenant_id IN ({marks})", ids)
    said: list[str] = []
    if maintained(sources, CHANGES):
        changes = one(f"SELECT count(*) FROM call_changes WHERE tenant_id IN ({marks})", ids)
        counter, top = (
            one("SELECT value FROM call_changes_counter"),
            one("SELECT max(seq) FROM call_changes"),
        )
        if changes != loaded or counter != top:
            raise Inconsistent(
                f"call_changes: {changes:,} rows for {loaded:,} calls, counter {counter} "
                f"!= last seq {top}"
            )
        said.append(f"call_changes {changes:,} = calls, counter at {counter:,}")
    for table in ("call_users", "call_tags", "call_evaluations", "call_evaluation_scores"):
        orphans = db.execute(f"PRAGMA foreign_key_check({table})").fetchmany(1)
        if orphans:
            raise Inconsistent(f"{table}: a row without its parent: {orphans[0]}")
    said.append("foreign keys ok")
    for table, (_, differing) in rollup_sql(sqlite.dialect()).items():
        said.append(_check_rollup(table, one(differing), one(f"SELECT count(*) FROM {table}")))
    return "; ".join(said)


def _check_rollup(table: str, difference: int, rows: int) -> str:
    if difference:
        raise Inconsistent(f"{table}: {difference} rows differ from the calls")
    return f"{table} exact ({rows:,} rows)"


# --- PostgreSQL (asyncpg) ---------------------------------------------------------------------


async def postgres_sources(conn: Any) -> list[str]:
    return [str(row[0]) for row in await conn.fetch(_POSTGRES_TRIGGER_SOURCES)]


async def rebuild_postgres(conn: Any, tenant_ids: Sequence[str], sources: list[str]) -> None:
    async with conn.transaction():
        if maintained(sources, CHANGES):
            await conn.execute(_POSTGRES_CHANGES, list(tenant_ids))
        for table, (rebuild, _) in rollup_sql(asyncpg.dialect()).items():
            if maintained(sources, table):
                for statement in rebuild:
                    await conn.execute(statement)


async def check_postgres(conn: Any, tenant_ids: Sequence[str], sources: list[str]) -> str:
    ids = list(tenant_ids)
    said: list[str] = []
    if maintained(sources, CHANGES):
        loaded = await conn.fetchval("SELECT count(*) FROM calls WHERE tenant_id = ANY($1)", ids)
        changes = await conn.fetchval(
            "SELECT count(*) FROM call_changes WHERE tenant_id = ANY($1)", ids
        )
        if changes != loaded:
            raise Inconsistent(f"call_changes: {changes:,} rows for {loaded:,} calls")
        said.append(f"call_changes {changes:,} = calls")
    for table, (_, differing) in rollup_sql(asyncpg.dialect()).items():
        difference = int(await conn.fetchval(differing) or 0)
        rows = int(await conn.fetchval(f"SELECT count(*) FROM {table}") or 0)
        said.append(_check_rollup(table, difference, rows))
    return "; ".join(said)
