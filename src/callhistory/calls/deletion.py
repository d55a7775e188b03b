"""Erasing a call on request (`DELETE /api/call_transaction/detail/{id}`, a data-protection
request): what it held goes, a tombstone stays.

The row stays as `is_deleted` with every personal field emptied (numbers, customer,
notes, recording, the parties), so the change feed, sync and webhooks tell clients that
kept a copy (`is_deleted: true`, the `deleted` event); its agents, tags, evaluations and
the PBX's own legs are deleted (calls.parts counts agents' and tags' rows as live calls
on that rule). An audit row says who erased which call, and when. A
record of the call sent again afterwards is acknowledged and not stored (ingest.bulk).
The recording file is removed after the commit, when it is in our folder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from callhistory.calls import totals
from callhistory.config import Settings
from callhistory.db import among, now_ms, writing
from callhistory.recordings import sources
from callhistory.schema import (
    call_deletions,
    call_evaluations,
    call_tags,
    call_users,
    calls,
    cdr_legs,
)
from callhistory.stats import rollups

# What an erased call keeps of each personal field: nothing.
ERASED: dict[str, Any] = {
    "source_number": "",
    "destination_number": "",
    "customer_id": None,
    "customer_name": None,
    "customer_number": None,
    "note": None,
    "search_text": "",
    "recording_file": None,
    "recording_file_voicemail": None,
    "recording_path": None,
    "create_by": None,
    "internal_destination": None,
    "sip_from_user": None,
}


@dataclass(frozen=True)
class Erasure:
    transaction_id: str
    deleted_at: int
    recording_removed: bool


async def _erase(
    conn: AsyncConnection, tenant_id: str, transaction_id: str, by: str, at: int
) -> str | None:
    """In the caller's transaction; the stored recording (path or link, "" for none), or
    None when the tenant has no such live call."""
    key = and_(calls.c.tenant_id == tenant_id, calls.c.transaction_id == transaction_id)
    query = select(calls).where(key, calls.c.is_deleted.is_(False))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    await lock_totals(conn, tenant_id, [dict(row._mapping)])
    for table in (call_users, call_tags, call_evaluations):
        await conn.execute(
            delete(table).where(
                table.c.tenant_id == tenant_id, table.c.transaction_id == transaction_id
            )
        )
    await conn.execute(
        delete(cdr_legs).where(
            cdr_legs.c.tenant_id == tenant_id, cdr_legs.c.call_id == transaction_id
        )
    )
    await conn.execute(
        update(calls).where(key).values(is_deleted=True, last_updated_date=at, **ERASED)
    )
    await conn.execute(
        call_deletions.insert().values(
            tenant_id=tenant_id,
            transaction_id=transaction_id,
            deleted_at=at,
            deleted_by=by,
            recording_removed=False,
        )
    )
    return str(row.recording_path or row.recording_file or "")


async def lock_totals(
    conn: AsyncConnection, tenant_id: str, stored: Sequence[Mapping[str, Any]]
) -> None:
    """The stored calls' totals rows locked in the order ingest and the triggers take them
    (hour totals, queues, agents), for a writer that deletes their agents before the calls
    (erasure, retention): their trigger would lock the agents' rollups before the calls'
    own statement locks their hour totals, the other way round from a batch storing calls
    of the same hours (PostgreSQL: a deadlock)."""
    if conn.dialect.name != "postgresql" or not stored:
        return
    created = {call["transaction_id"]: call["created_date"] for call in stored}
    agents = await conn.execute(
        select(call_users.c.transaction_id, call_users.c.email, call_users.c.sip_user).where(
            call_users.c.tenant_id == tenant_id, among(call_users.c.transaction_id, list(created))
        )
    )
    await totals.lock_groups(conn, tenant_id, stored)
    await rollups.lock(
        conn,
        tenant_id,
        [(call["created_date"], call["queue_destination"]) for call in stored],
        [(created[tx], email, sip_user) for tx, email, sip_user in agents],
    )


async def erase(
    engine: AsyncEngine, settings: Settings, tenant_id: str, transaction_id: str, by: str
) -> Erasure | None:
    """Erase the call (None: the tenant has no such live call); `by` is who asked
    (`key:<id>`, `user:<id>`)."""
    at = now_ms()
    async with writing(engine) as conn:
        stored = await _erase(conn, tenant_id, transaction_id, by, at)
    if stored is None:
        return None
    removed = await asyncio.to_thread(sources.remove, settings, stored or None)
    if removed:
        async with writing(engine) as conn:
            await conn.execute(
                update(call_deletions)
                .where(
                    call_deletions.c.tenant_id == tenant_id,
                    call_deletions.c.transaction_id == transaction_id,
                    call_deletions.c.deleted_at == at,
                )
                .values(recording_removed=True)
            )
    return Erasure(transaction_id, at, removed)
