"""Storing ingested calls: insert, or update the PBX's fields; never twice.

A call is keyed by (tenant, transaction id). Sending the same record again changes
nothing; a record with new PBX facts (a later leg, a corrected duration) updates those
facts and keeps what people added (notes, tags, agents' notes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.calls.store import refresh
from callhistory.db import new_id, now_ms
from callhistory.ingest.records import AgentOnCall, CallRecord
from callhistory.schema import CALL_OWNER, call_tags, call_users, calls
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


@dataclass
class _OldUser:
    key: tuple[Any, ...]
    position: int
    note: str | None
    note_created_date: int | None


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
                tenant_id=tenant_id, id=new_id(), last_updated_date=changed_at, **values
            )
        )
        await _write_users(conn, tenant_id, record, [])
        await refresh(conn, tenant_id, record.transaction_id, changed_at)
        return "stored"
    old_users = await _old_users(conn, tenant_id, record.transaction_id)
    same_users = existing.created_date == record.created_date and [u.key for u in old_users] == [
        agent_key(a) for a in record.agents
    ]
    if same_users and all(getattr(existing, k) == v for k, v in values.items()):
        return "unchanged"
    await conn.execute(update(calls).where(key).values(**values))
    if not same_users:
        await _write_users(conn, tenant_id, record, old_users)
    await refresh(conn, tenant_id, record.transaction_id, changed_at)
    return "updated"


async def _old_users(conn: AsyncConnection, tenant_id: str, transaction_id: str) -> list[_OldUser]:
    rows = await conn.execute(
        select(call_users)
        .where(call_users.c.tenant_id == tenant_id, call_users.c.transaction_id == transaction_id)
        .order_by(call_users.c.position)
    )
    return [_OldUser(agent_key(r), r.position, r.note, r.note_created_date) for r in rows]


async def _write_users(
    conn: AsyncConnection, tenant_id: str, record: CallRecord, old_users: list[_OldUser]
) -> None:
    """Rewrite the call's agents, carrying each kept agent's note and tags to their new place."""
    tx = record.transaction_id
    old_by_key = {u.key: u for u in old_users}
    moved: dict[int, int] = {}  # old position -> new position
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
    agent_tags = (
        await conn.execute(
            select(call_tags).where(
                call_tags.c.tenant_id == tenant_id,
                call_tags.c.transaction_id == tx,
                call_tags.c.user_position != CALL_OWNER,
            )
        )
    ).all()
    scope = (call_tags.c.tenant_id == tenant_id, call_tags.c.transaction_id == tx)
    await conn.execute(delete(call_tags).where(*scope, call_tags.c.user_position != CALL_OWNER))
    await conn.execute(
        delete(call_users).where(
            call_users.c.tenant_id == tenant_id, call_users.c.transaction_id == tx
        )
    )
    if rows:
        await conn.execute(call_users.insert(), rows)
    kept = [
        {
            **tag._mapping,
            "user_position": moved[tag.user_position],
            "created_date": record.created_date,
        }
        for tag in agent_tags
        if tag.user_position in moved
    ]
    if kept:
        await conn.execute(call_tags.insert(), kept)
