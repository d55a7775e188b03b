"""Storing many enriched calls at once, with exactly `store.upsert_call`'s outcomes.

`upsert_call` costs several statements per call; a batch here costs a few statements in
all: one read of the calls already stored (and their agents), one multi-row insert each
for the new calls, their agents and their tags, and one multi-row update of the calls
that changed (keeping people's notes and tags exactly as upsert_call does; only a call
whose agents changed costs statements of its own). An unchanged call writes nothing.

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

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.calls import totals
from callhistory.calls.store import change, tag_ids_for
from callhistory.db import among, new_id, now_ms
from callhistory.ingest.records import CallRecord
from callhistory.ingest.store import (
    AgentsRewrite,
    Kept,
    OldUser,
    Outcome,
    agent_key,
    agents_tagged,
    old_user,
    search_text_of,
    tag_names,
    upsert_call,
    user_row,
    write_users,
)
from callhistory.rows import insert_rows, update_rows
from callhistory.schema import CALL_OWNER, call_tags, call_users, calls
from callhistory.stats import rollups
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
    conn: AsyncConnection, tenant_id: str, entries: Sequence[Entry], *, isolated: bool = True
) -> list[Outcome | None]:
    """Each entry's outcome, in order; None where the database refused that entry.

    `isolated=False`: no SAVEPOINT and no fallback, a refusal raises and spoils the
    transaction; for a caller that stores everything again on its own then (ingest.queue),
    two round trips fewer."""
    if not entries:
        return []
    if not isolated:
        return await _together(conn, tenant_id, entries)
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


@dataclass
class _Stored:
    values: tuple[Any, ...]  # in COLUMNS order
    note: str | None
    deleted: bool = False  # erased on request (calls.deletion): kept so, whatever comes
    users: list[OldUser] = field(default_factory=list)

    def same(self, entry: Entry) -> bool:
        """What upsert_call calls unchanged."""
        values = entry.values
        return self.values == tuple(values[name] for name in COLUMNS) and self.same_users(entry)

    def same_users(self, entry: Entry) -> bool:
        """The same agents, in the same order, on the same day (their rows stay)."""
        created = self.values[COLUMNS.index("created_date")]
        return created == entry.values["created_date"] and [u.key for u in self.users] == [
            agent_key(agent) for agent in entry.record.agents
        ]


async def _stored(conn: AsyncConnection, tenant_id: str, ids: list[str]) -> dict[str, _Stored]:
    """The calls already stored among `ids`, with their agents, locked on PostgreSQL (in
    one order, so two batches cannot deadlock) against a concurrent `change` whose note or
    tags an update's search text would miss.

    A new one a concurrent writer inserts first fails the insert, which falls back to
    upsert_call one by one.
    """
    found: dict[str, _Stored] = {}
    selected = [calls.c[name] for name in COLUMNS]
    for first in range(0, len(ids), MAX_IDS_PER_QUERY):
        chunk = ids[first : first + MAX_IDS_PER_QUERY]
        query = (
            select(*selected, calls.c.is_deleted, calls.c.note)
            .where(calls.c.tenant_id == tenant_id, among(calls.c.transaction_id, chunk))
            .order_by(calls.c.transaction_id)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        known = {
            row.transaction_id: _Stored(tuple(row)[:-2], row.note, row.is_deleted)
            for row in await conn.execute(query)
        }
        found.update(known)
        if not known:
            continue
        user_rows = await conn.execute(
            select(call_users)
            .where(
                call_users.c.tenant_id == tenant_id,
                among(call_users.c.transaction_id, list(known)),
            )
            .order_by(call_users.c.transaction_id, call_users.c.position)
        )
        for user in user_rows:
            known[user.transaction_id].users.append(old_user(user))
    return found


async def _together(
    conn: AsyncConnection, tenant_id: str, entries: Sequence[Entry]
) -> list[Outcome | None]:
    ids = list(dict.fromkeys(e.transaction_id for e in entries))
    existing = await _stored(conn, tenant_id, ids)
    new: dict[str, Entry] = {}  # to insert, by transaction id, in first-seen order
    changed: dict[str, Entry] = {}  # stored calls to update, with their latest entry
    outcomes: list[Outcome | None] = []
    for entry in entries:
        tx = entry.transaction_id
        if tx in new:
            # Sent twice in one batch: the later one wins, as it would one by one.
            first = new[tx]
            if _same_entry(first, entry):
                outcomes.append("unchanged")
            else:
                new[tx] = Entry(entry.record, first.note, first.tags, entry.overrides)
                outcomes.append("updated")
        elif tx in changed:
            outcomes.append("unchanged" if _same_entry(changed[tx], entry) else "updated")
            changed[tx] = entry
        elif tx in existing and (existing[tx].deleted or existing[tx].same(entry)):
            outcomes.append("unchanged")
        elif tx in existing:
            changed[tx] = entry
            outcomes.append("updated")
        else:
            new[tx] = entry
            outcomes.append("stored")
    if changed:
        # Changes write calls in a statement of their own and their agents before it: every
        # totals row they and the new calls will touch is locked first, in the order the
        # triggers take them (hour totals, then queues, then agents), each sorted, so no two
        # batches take any of them in opposite orders. New calls alone need none of this:
        # their one insert per table locks them in that order already.
        await totals.lock_groups(
            conn,
            tenant_id,
            [
                *(e.values for e in (*new.values(), *changed.values())),
                *(dict(zip(COLUMNS, existing[tx].values, strict=True)) for tx in changed),
            ],
        )
        await _lock_rollups(conn, tenant_id, [*new.values(), *changed.values()], existing)
    await _insert(conn, tenant_id, list(new.values()))
    await _update(conn, tenant_id, list(changed.values()), existing)
    return outcomes


async def _lock_rollups(
    conn: AsyncConnection, tenant_id: str, entries: list[Entry], existing: Mapping[str, _Stored]
) -> None:
    created, queue = COLUMNS.index("created_date"), COLUMNS.index("queue_destination")
    queues = [(e.values["created_date"], e.values.get("queue_destination")) for e in entries]
    agents: list[tuple[int, tuple[Any, ...]]] = []
    for entry in entries:
        # agent_key's (agent_id, sip_user, user_uuid, email, full_name), new and stored
        # alike, at the call's old time and its new: the agents are rewritten before the
        # call, so the call's update meets its new agents at its old time too.
        times = {entry.values["created_date"]}
        keys = {agent_key(a) for a in entry.record.agents}
        old = existing.get(entry.transaction_id)
        if old is not None:
            queues.append((old.values[created], old.values[queue]))
            times.add(old.values[created])
            keys.update(u.key for u in old.users)
        agents += [(at, key) for at in times for key in keys]
    await rollups.lock(conn, tenant_id, queues, [(at, k[3], k[1]) for at, k in agents])


def _same_entry(a: Entry, b: Entry) -> bool:
    return a.values == b.values and a.record.agents == b.record.agents


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
        kept = Kept(entry.note, (), {CALL_OWNER: entry.tags})
        call_rows.append(
            {
                **values,
                "tenant_id": tenant_id,
                "id": new_id(),
                "last_updated_date": changed_at,
                "note": entry.note,
                "search_text": search_text_of(values, agents, kept),
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


async def _update(
    conn: AsyncConnection, tenant_id: str, entries: list[Entry], existing: Mapping[str, _Stored]
) -> None:
    """The new PBX facts of stored calls, keeping people's notes and tags (as upsert_call)."""
    if not entries:
        return
    changed_at = now_ms()
    names = await tag_names(conn, tenant_id, [e.transaction_id for e in entries])
    rows: list[dict[str, Any]] = []
    rewrites: list[AgentsRewrite] = []  # their agents written together after the loop
    for entry in entries:
        stored = existing[entry.transaction_id]
        kept = Kept(stored.note, stored.users, names.get(entry.transaction_id, {}))
        if not stored.same_users(entry):
            rewrites.append(AgentsRewrite(entry.final(), stored.users, agents_tagged(kept)))
        rows.append(
            {
                **entry.values,
                "tenant_id": tenant_id,
                "search_text": search_text_of(entry.values, entry.record.agents, kept),
                "last_updated_date": changed_at,
            }
        )
    await write_users(conn, tenant_id, rewrites)
    await update_rows(conn, calls, ("tenant_id", "transaction_id"), rows)
