"""Storing many enriched calls at once, with exactly `store.upsert_call`'s outcomes.

`upsert_call` costs a dozen statements per call; a batch of new calls here costs a few
statements in all: one read of the calls already stored (and their agents), then one
multi-row insert each for the calls, their agents and their tags. A call already stored
and unchanged writes nothing; one that changed goes through `upsert_call` (so people's
notes and tags are kept exactly as there).

Isolation: everything runs in a SAVEPOINT. Should the database refuse any of it (a
concurrent writer inserted one of the calls first, a value no column holds), that is
rolled back and the calls are stored one by one, each in its own SAVEPOINT: one bad call
costs only itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Any

import orjson
from sqlalchemy import JSON, String, Table, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.calls.store import change, search_text, tag_ids_for
from callhistory.db import new_id, now_ms
from callhistory.ingest.records import CallRecord
from callhistory.ingest.store import Outcome, agent_key, upsert_call, user_row
from callhistory.schema import CALL_OWNER, call_tags, call_users, calls
from callhistory.text import fold

log = logging.getLogger("callhistory")

MAX_IDS_PER_QUERY = 1000


# The calls table's columns a CallRecord fills (its agents go to call_users).
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(CallRecord) if f.name != "agents")


@dataclass(frozen=True)
class Entry:
    """A call to store, with the note and tags the sender gave (set when it is new), and
    values the sender gave over the enriched record's (`overrides`)."""

    record: CallRecord
    note: str | None = None
    tags: tuple[str, ...] = ()
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def transaction_id(self) -> str:
        return self.record.transaction_id

    @cached_property
    def values(self) -> dict[str, Any]:
        """The row's values for the calls table, overrides applied."""
        values = dict(vars(self.record))  # every field but the agents is a column
        del values["agents"]
        values.update(self.overrides)
        return values

    def final(self) -> CallRecord:
        """The record with the overrides, for upsert_call."""
        return replace(self.record, **self.overrides) if self.overrides else self.record


async def store_calls(
    conn: AsyncConnection, tenant_id: str, entries: Sequence[Entry]
) -> list[Outcome | None]:
    """Each entry's outcome, in order; None where the database refused that entry."""
    if not entries:
        return []
    try:
        async with conn.begin_nested():
            return await _together(conn, tenant_id, entries)
    except DBAPIError:
        log.info("batch store fell back to one call at a time", exc_info=True)
    outcomes: list[Outcome | None] = []
    for entry in entries:
        try:
            async with conn.begin_nested():
                outcomes.append(await store_one(conn, tenant_id, entry))
        except DBAPIError:
            log.warning("call %s refused by the database", entry.transaction_id)
            outcomes.append(None)
    return outcomes


async def store_one(conn: AsyncConnection, tenant_id: str, entry: Entry) -> Outcome:
    """One call the slow, general way (`upsert_call`), its note and tags when it is new."""
    outcome = await upsert_call(conn, tenant_id, entry.final())
    if outcome == "stored" and (entry.note is not None or entry.tags):
        await change(
            conn,
            tenant_id,
            entry.transaction_id,
            note=entry.note,
            note_given=entry.note is not None,
            tag_names=list(entry.tags) or None,
        )
    return outcome


def _among(column: Any, values: list[str], conn: AsyncConnection) -> Any:
    """`column IN values`; on PostgreSQL as `= ANY(array)`, one parameter, one plan."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(String)))
    return column.in_(values)


@dataclass
class _Stored:
    values: tuple[Any, ...]  # in COLUMNS order
    agents: list[tuple[Any, ...]] = field(default_factory=list)  # store.agent_key of each

    def same(self, entry: Entry) -> bool:
        """What upsert_call calls unchanged."""
        values = entry.values
        return self.values == tuple(values[name] for name in COLUMNS) and self.agents == [
            agent_key(agent) for agent in entry.record.agents
        ]


async def _stored(conn: AsyncConnection, tenant_id: str, ids: list[str]) -> dict[str, _Stored]:
    """The calls already stored among `ids`, with their agents.

    Not locked: an unchanged call is left alone, a changed one goes through upsert_call
    (which locks it), and a new one a concurrent writer inserts first fails the insert,
    which falls back to upsert_call one by one.
    """
    found: dict[str, _Stored] = {}
    selected = [calls.c[name] for name in COLUMNS]
    for first in range(0, len(ids), MAX_IDS_PER_QUERY):
        chunk = ids[first : first + MAX_IDS_PER_QUERY]
        rows = await conn.execute(
            select(*selected).where(
                calls.c.tenant_id == tenant_id, _among(calls.c.transaction_id, chunk, conn)
            )
        )
        known = {row.transaction_id: _Stored(tuple(row)) for row in rows}
        found.update(known)
        if not known:
            continue
        user_rows = await conn.execute(
            select(call_users)
            .where(
                call_users.c.tenant_id == tenant_id,
                _among(call_users.c.transaction_id, list(known), conn),
            )
            .order_by(call_users.c.transaction_id, call_users.c.position)
        )
        for user in user_rows:
            known[user.transaction_id].agents.append(agent_key(user))
    return found


async def _together(
    conn: AsyncConnection, tenant_id: str, entries: Sequence[Entry]
) -> list[Outcome | None]:
    ids = list(dict.fromkeys(e.transaction_id for e in entries))
    existing = await _stored(conn, tenant_id, ids)
    new: dict[str, Entry] = {}  # to insert, by transaction id, in first-seen order
    touched: set[str] = set()  # stored calls this batch already sent to upsert_call
    outcomes: list[Outcome | None] = []
    for entry in entries:
        tx = entry.transaction_id
        if tx in new:
            # Sent twice in one batch: the later one wins, as it would one by one.
            first = new[tx]
            if first.values == entry.values and first.record.agents == entry.record.agents:
                outcomes.append("unchanged")
            else:
                new[tx] = Entry(entry.record, first.note, first.tags, entry.overrides)
                outcomes.append("updated")
        elif tx in touched:
            outcomes.append(await upsert_call(conn, tenant_id, entry.final()))
        elif tx in existing:
            if existing[tx].same(entry):
                outcomes.append("unchanged")
            else:
                outcomes.append(await upsert_call(conn, tenant_id, entry.final()))
                touched.add(tx)
        else:
            new[tx] = entry
            outcomes.append("stored")
    await _insert(conn, tenant_id, list(new.values()))
    return outcomes


async def _insert(conn: AsyncConnection, tenant_id: str, entries: list[Entry]) -> None:
    if not entries:
        return
    changed_at = now_ms()
    names: dict[str, str] = {}  # folded -> as given, over the whole batch
    for entry in entries:
        for name in entry.tags:
            names.setdefault(fold(name), name)
    tag_ids = dict(
        zip(names, await tag_ids_for(conn, tenant_id, list(names.values())), strict=True)
    )
    call_rows: list[dict[str, Any]] = []
    user_rows: list[dict[str, Any]] = []
    tag_rows: list[dict[str, Any]] = []
    for entry in entries:
        values = entry.values
        agents = entry.record.agents
        tx = entry.transaction_id
        created = values["created_date"]
        call_rows.append(
            {
                **values,
                "tenant_id": tenant_id,
                "id": new_id(),
                "last_updated_date": changed_at,
                "note": entry.note,
                "search_text": search_text(
                    [values["source_number"], values["destination_number"]],
                    [values["customer_name"], *(a.full_name for a in agents)],
                    [entry.note],
                    entry.tags,
                ),
            }
        )
        user_rows.extend(
            user_row(tenant_id, entry.record, position, agent)
            for position, agent in enumerate(agents)
        )
        for position, name in enumerate(dict.fromkeys(fold(t) for t in entry.tags)):
            tag_rows.append(
                {
                    "tenant_id": tenant_id,
                    "transaction_id": tx,
                    "user_position": CALL_OWNER,
                    "tag_id": tag_ids[name],
                    "position": position,
                    "created_date": created,
                }
            )
    await insert_rows(conn, calls, call_rows)
    await insert_rows(conn, call_users, user_rows)
    await insert_rows(conn, call_tags, tag_rows)


def _unnest_insert(table: Table, names: Sequence[str], dialect: Dialect) -> str:
    """`INSERT INTO t (a, b) SELECT a, b FROM unnest($1::text::type[], …) AS u(a, b)`: one
    statement (one plan, one firing of statement triggers) whatever the row count. Each
    column travels as one array literal (PostgreSQL parses it far faster than the driver
    encodes a list); JSON as text, cast back. Names come from the schema, quoted."""
    quote = dialect.identifier_preparer.quote
    quoted = [quote(name) for name in names]
    arrays, selected = [], []
    for number, name in enumerate(names, start=1):
        column_type = table.c[name].type
        if isinstance(column_type, JSON):
            arrays.append(f"${number}::text::text[]")
            selected.append(f"u.{quoted[number - 1]}::json")
        else:
            arrays.append(f"${number}::text::{column_type.compile(dialect=dialect)}[]")
            selected.append(f"u.{quoted[number - 1]}")
    columns = ", ".join(quoted)
    return (
        f"INSERT INTO {quote(table.name)} ({columns}) SELECT {', '.join(selected)} "  # noqa: S608 - schema names
        f"FROM unnest({', '.join(arrays)}) AS u({columns})"
    )


async def insert_rows(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Many rows (same keys) in one statement on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        await conn.execute(table.insert(), rows)
        return
    names = list(rows[0])
    json_names = {n for n in names if isinstance(table.c[n].type, JSON)}
    literals = tuple(
        array_literal(
            [_json_text(row[name]) for row in rows]
            if name in json_names
            else [row[name] for row in rows]
        )
        for name in names
    )
    await conn.exec_driver_sql(_unnest_insert(table, names, conn.dialect), literals)


def array_literal(values: Sequence[Any]) -> str:
    """A PostgreSQL array literal: `{1,NULL,"text with \\"quotes\\""}`."""
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
