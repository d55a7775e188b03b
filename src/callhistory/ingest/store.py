"""Storing ingested calls: insert, or update the PBX's fields; never twice.

A call is keyed by (tenant, transaction id). Sending the same record again changes
nothing; a record with new PBX facts (a later leg, a corrected duration) updates those
facts and keeps what people added (notes, tags, agents' notes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.calls.store import search_text
from callhistory.db import among, new_id, now_ms
from callhistory.ingest.records import AgentOnCall, CallRecord
from callhistory.rows import insert_rows
from callhistory.schema import CALL_OWNER, call_tags, call_users, calls, tags
from callhistory.text import unsigned

Outcome = Literal["stored", "updated", "unchanged"]


def agent_key(agent: AgentOnCall | Any) -> tuple[Any, ...]:
    """What identifies an agent on a call, to carry their note and tags across updates."""
    email = agent.email.lower() if agent.email else None
    return (agent.agent_id, agent.sip_user, agent.user_uuid, email, agent.full_name)


def user_row(
    tenant_id: str,
    record: CallRecord,
    position: int,
    agent: AgentOnCall,
    note: str | None = None,
    note_created_date: int | None = None,
) -> dict[str, Any]:
    """The `call_users` row of one agent on a call."""
    return {
        "tenant_id": tenant_id,
        "transaction_id": record.transaction_id,
        "position": position,
        "created_date": record.created_date,
        "agent_id": agent.agent_id,
        "email": agent.email.lower() if agent.email else None,
        "user_uuid": agent.user_uuid,
        "sip_user": agent.sip_user,
        "full_name": agent.full_name,
        "full_name_unsigned": unsigned(agent.full_name),
        "note": note,
        "note_created_date": note_created_date,
    }


@dataclass(frozen=True)
class OldUser:
    """An agent as stored on a call, with the note people gave them."""

    key: tuple[Any, ...]
    position: int
    note: str | None
    note_created_date: int | None


@dataclass(frozen=True)
class Kept:
    """What people added to a stored call, which a newer PBX record keeps."""

    note: str | None = None
    users: Sequence[OldUser] = ()
    tags: Mapping[int, Sequence[str]] = field(default_factory=dict)  # by user_position


def agents_tagged(kept: Kept) -> bool:
    return any(position != CALL_OWNER and names for position, names in kept.tags.items())


def search_text_of(values: Mapping[str, Any], agents: Sequence[AgentOnCall], kept: Kept) -> str:
    """The call's keyword text once stored with these values and agents: what
    `calls.store.refresh` would compute, without reading the call back."""
    by_key = {u.key: u for u in kept.users}
    matched = [u for u in (by_key.get(agent_key(a)) for a in agents) if u is not None]
    return search_text(
        [values["source_number"], values["destination_number"]],
        [values["customer_name"], *(a.full_name for a in agents)],
        [kept.note, *(u.note for u in matched)],
        [
            *kept.tags.get(CALL_OWNER, ()),
            *(t for u in matched for t in kept.tags.get(u.position, ())),
        ],
    )


async def tag_names(
    conn: AsyncConnection, tenant_id: str, transaction_ids: Sequence[str]
) -> dict[str, dict[int, list[str]]]:
    """The tags on each call, by user position (CALL_OWNER: the call's own), in order."""
    found: dict[str, dict[int, list[str]]] = {}
    if not transaction_ids:
        return found
    rows = await conn.execute(
        select(call_tags.c.transaction_id, call_tags.c.user_position, tags.c.name)
        .join(
            tags, and_(tags.c.tenant_id == call_tags.c.tenant_id, tags.c.id == call_tags.c.tag_id)
        )
        .where(
            call_tags.c.tenant_id == tenant_id,
            among(call_tags.c.transaction_id, transaction_ids),
        )
        .order_by(call_tags.c.transaction_id, call_tags.c.user_position, call_tags.c.position)
    )
    for tx, position, name in rows:
        found.setdefault(tx, {}).setdefault(position, []).append(name)
    return found


async def upsert_call(conn: AsyncConnection, tenant_id: str, record: CallRecord) -> Outcome:
    """Store the record in the caller's transaction (locked per call on PostgreSQL)."""
    key = and_(calls.c.tenant_id == tenant_id, calls.c.transaction_id == record.transaction_id)
    query = select(calls).where(key)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    existing = (await conn.execute(query)).first()
    changed_at = now_ms()
    values = record.columns()
    if existing is None:
        await conn.execute(
            calls.insert().values(
                tenant_id=tenant_id,
                id=new_id(),
                last_updated_date=changed_at,
                search_text=search_text_of(values, record.agents, Kept()),
                **values,
            )
        )
        users = [user_row(tenant_id, record, p, a) for p, a in enumerate(record.agents)]
        if users:
            await conn.execute(call_users.insert(), users)
        return "stored"
    if existing.is_deleted:  # erased on request (calls.deletion): a re-sent record stays out
        return "unchanged"
    old_users = await _old_users(conn, tenant_id, record.transaction_id)
    same_users = existing.created_date == record.created_date and [u.key for u in old_users] == [
        agent_key(a) for a in record.agents
    ]
    if same_users and all(getattr(existing, k) == v for k, v in values.items()):
        return "unchanged"
    names = await tag_names(conn, tenant_id, [record.transaction_id])
    kept = Kept(existing.note, old_users, names.get(record.transaction_id, {}))
    await conn.execute(
        update(calls)
        .where(key)
        .values(
            **values,
            search_text=search_text_of(values, record.agents, kept),
            last_updated_date=changed_at,
        )
    )
    if not same_users:
        await write_users(conn, tenant_id, [AgentsRewrite(record, old_users, agents_tagged(kept))])
    return "updated"


async def _old_users(conn: AsyncConnection, tenant_id: str, transaction_id: str) -> list[OldUser]:
    rows = await conn.execute(
        select(call_users)
        .where(call_users.c.tenant_id == tenant_id, call_users.c.transaction_id == transaction_id)
        .order_by(call_users.c.position)
    )
    return [old_user(r) for r in rows]


def old_user(row: Any) -> OldUser:
    return OldUser(agent_key(row), row.position, row.note, row.note_created_date)


def new_user_rows(
    tenant_id: str, record: CallRecord, old_users: Sequence[OldUser]
) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """The call's agent rows, each kept agent's note carried along, and where each kept
    agent moved (old position -> new position)."""
    old_by_key = {u.key: u for u in old_users}
    moved: dict[int, int] = {}
    rows = []
    for position, agent in enumerate(record.agents):
        old = old_by_key.get(agent_key(agent))
        if old is not None:
            moved[old.position] = position
        rows.append(
            user_row(
                tenant_id,
                record,
                position,
                agent,
                old.note if old else None,
                old.note_created_date if old else None,
            )
        )
    return rows, moved


@dataclass(frozen=True)
class AgentsRewrite:
    """A call whose agents change, what it had, and whether any of them has a tag (False:
    the caller knows none has, so no tag is read or moved)."""

    record: CallRecord
    old_users: Sequence[OldUser]
    agents_tagged: bool = True


async def write_users(
    conn: AsyncConnection, tenant_id: str, rewrites: Sequence[AgentsRewrite]
) -> None:
    """Rewrite the calls' agents, all together (one delete, one insert), carrying each
    kept agent's note and tags to their new place."""
    if not rewrites:
        return
    ids = [r.record.transaction_id for r in rewrites]
    tagged = [r.record.transaction_id for r in rewrites if r.agents_tagged]
    agent_tags: Sequence[Any] = ()
    if tagged:
        scope = (
            call_tags.c.tenant_id == tenant_id,
            among(call_tags.c.transaction_id, tagged),
            call_tags.c.user_position != CALL_OWNER,
        )
        agent_tags = (await conn.execute(select(call_tags).where(*scope))).all()
        await conn.execute(delete(call_tags).where(*scope))
    await conn.execute(
        delete(call_users).where(
            call_users.c.tenant_id == tenant_id, among(call_users.c.transaction_id, ids)
        )
    )
    rows: list[dict[str, Any]] = []
    placed: dict[str, tuple[CallRecord, dict[int, int]]] = {}  # tx -> record, moves
    for rewrite in rewrites:
        users, moved = new_user_rows(tenant_id, rewrite.record, rewrite.old_users)
        rows.extend(users)
        placed[rewrite.record.transaction_id] = (rewrite.record, moved)
    await insert_rows(conn, call_users, rows)
    kept = []
    for tag in agent_tags:
        record, moved = placed[tag.transaction_id]
        if tag.user_position in moved:
            kept.append(
                {
                    **tag._mapping,
                    "user_position": moved[tag.user_position],
                    "created_date": record.created_date,
                }
            )
    if kept:
        await conn.execute(call_tags.insert(), kept)
