"""Retention for webhook deliveries: finished ones go once old enough; pending never.

Age is counted from the last attempt (a redelivered one starts again), and deletions go
in small batches, each its own short transaction. The delete repeats the conditions of
the batch it picked, so a delivery redelivered in between (pending again) is kept.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.db import writing
from callhistory.schema import webhook_deliveries

FINISHED = ("delivered", "parked")


async def prune_batch(
    engine: AsyncEngine, tenant_id: str, status: str, cutoff_ms: int, limit: int
) -> int:
    """Delete up to `limit` of the tenant's `status` deliveries last tried before
    `cutoff_ms`; how many."""
    if status not in FINISHED:
        raise ValueError(f"only finished deliveries are pruned, not {status!r}")
    d = webhook_deliveries.c
    old = (d.tenant_id == tenant_id) & (d.status == status) & (d.last_attempt_at < cutoff_ms)
    batch = select(d.id).where(old).order_by(d.last_attempt_at).limit(limit)
    async with writing(engine) as conn:
        result = await conn.execute(webhook_deliveries.delete().where(old, d.id.in_(batch)))
    return int(result.rowcount)
