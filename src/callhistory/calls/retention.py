"""A tenant's own retention of calls and recordings (tenants.cdr_days and
recording_days, Wazo's model; NULL keeps them forever), one batch at a time for
callhistory.retention.

- Calls older than `cdr_days` are deleted with everything hanging off them (agents,
  tags, evaluations through their foreign keys; the PBX's legs here), and their recording
  files when they are in our folder. The hour totals and the stats' hourly rollups follow
  in the same transaction (their triggers, migrations 0006 and 0013); nothing is sent to
  webhooks.
- Recordings of calls older than `recording_days` are deleted from our folder and the
  call forgets them (`recording_file`, `recording_path` NULL); the call stays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from callhistory.calls.deletion import lock_totals
from callhistory.config import Settings
from callhistory.db import among, writing
from callhistory.recordings import sources
from callhistory.schema import call_users, calls, cdr_legs

# What forgetting a recording reads of a call; deleting a call reads it whole (the
# columns its totals are grouped by, to lock them first).
_RECORDING = (calls.c.transaction_id, calls.c.recording_path, calls.c.recording_file)


async def _oldest(
    conn: AsyncConnection,
    tenant_id: str,
    before: int,
    batch: int,
    *conds: Any,
    columns: Sequence[Any] = _RECORDING,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Up to `batch` of the tenant's oldest calls created before `before` (and `conds`),
    their `columns`, and the recordings they name (paths, else links)."""
    query = (
        select(*columns)
        .where(calls.c.tenant_id == tenant_id, calls.c.created_date < before, *conds)
        .order_by(calls.c.created_date)
        .limit(batch)
    )
    found = [dict(row) for row in (await conn.execute(query)).mappings()]
    stored = [r["recording_path"] or r["recording_file"] for r in found]
    return found, [path for path in stored if path]


async def _remove_files(settings: Settings, stored: list[str]) -> None:
    if settings.recordings_dir:
        for path in stored:
            await asyncio.to_thread(sources.remove, settings, path)


async def prune_calls(
    engine: AsyncEngine, settings: Settings, tenant_id: str, before: int, batch: int
) -> int:
    """Delete up to `batch` of the tenant's calls created before `before`; how many."""
    async with writing(engine) as conn:
        oldest, stored = await _oldest(conn, tenant_id, before, batch, columns=[calls])
        ids = [call["transaction_id"] for call in oldest]
        if ids:
            await lock_totals(conn, tenant_id, oldest)
            await conn.execute(
                delete(cdr_legs).where(
                    cdr_legs.c.tenant_id == tenant_id, among(cdr_legs.c.call_id, ids)
                )
            )
            # their agents first, in one statement (migration 0013 would one call at a time)
            await conn.execute(
                delete(call_users).where(
                    call_users.c.tenant_id == tenant_id, among(call_users.c.transaction_id, ids)
                )
            )
            await conn.execute(
                delete(calls).where(
                    calls.c.tenant_id == tenant_id, among(calls.c.transaction_id, ids)
                )
            )
    await _remove_files(settings, stored)
    return len(ids)


async def prune_recordings(
    engine: AsyncEngine, settings: Settings, tenant_id: str, before: int, batch: int
) -> int:
    """Forget (and delete from our folder) up to `batch` recordings of calls created
    before `before`; how many."""
    recorded = or_(calls.c.recording_path.is_not(None), calls.c.recording_file.is_not(None))
    async with writing(engine) as conn:
        oldest, stored = await _oldest(conn, tenant_id, before, batch, recorded)
        ids = [call["transaction_id"] for call in oldest]
        if ids:
            await conn.execute(
                update(calls)
                .where(and_(calls.c.tenant_id == tenant_id, among(calls.c.transaction_id, ids)))
                .values(recording_path=None, recording_file=None, record_seconds=0)
            )
    await _remove_files(settings, stored)
    return len(ids)
