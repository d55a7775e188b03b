"""Retention for the change feed: a tenant's oldest changes go, in feed order.

Only a prefix of the feed is removed, and where it ends is recorded in sync_horizons in
the same transaction, so "did a reader at this place miss anything?" is one comparison
(feed.Pruned.hides). The prefix stops at the first change that is
- newer than the cutoff (on PostgreSQL times are not quite in feed order: it waits),
- after the tenant's webhook cursor, while it has a hook: not yet made into deliveries
  (a paused hook keeps its changes queued until it is registered again), or
- (PostgreSQL) at or above the feed's horizon: a transaction below it might still commit.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from callhistory.db import writing
from callhistory.schema import call_changes, sync_horizons, webhook_cursors, webhooks
from callhistory.sync import feed


async def _webhook_bound(conn: AsyncConnection, tenant_id: str) -> feed.Position | None:
    """The last change already made into deliveries (None: no hook needs any)."""
    hooks = await conn.scalar(
        select(func.count()).select_from(webhooks).where(webhooks.c.tenant_id == tenant_id)
    )
    if not hooks:
        return None
    row = (
        await conn.execute(select(webhook_cursors).where(webhook_cursors.c.tenant_id == tenant_id))
    ).first()
    return feed.START if row is None else feed.Position(int(row.xid), int(row.seq))


def _after(position: feed.Position) -> ColumnElement[bool]:
    c = call_changes.c
    return or_(c.xid > position.xid, and_(c.xid == position.xid, c.seq > position.seq))


async def prune_batch(
    engine: AsyncEngine, tenant_id: str, cutoff_ms: int, now: int, limit: int
) -> int:
    """Delete up to `limit` of the tenant's oldest changes made before `cutoff_ms`, in one
    short transaction; how many."""
    c = call_changes.c
    async with writing(engine) as conn:
        if conn.dialect.name == "postgresql":
            # One pruner per tenant at a time: the horizon is read, then moved.
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                {"key": f"callhistory-prune-changes:{tenant_id}"},
            )
        mark = await feed.pruned(conn, tenant_id)
        start = feed.START if mark is None else mark.position
        bound = await _webhook_bound(conn, tenant_id)
        limit_xid = await feed.horizon(conn)
        rows = await conn.execute(
            select(c.xid, c.seq, c.changed_at)
            .where(c.tenant_id == tenant_id, _after(start))  # from the horizon: no dead rows
            .order_by(c.xid, c.seq)
            .limit(limit)
        )
        last: feed.Position | None = None
        until = -1 if mark is None else mark.changed_until
        count = 0
        for row in rows:
            position = feed.Position(int(row.xid), int(row.seq))
            if (
                row.changed_at >= cutoff_ms
                or (bound is not None and position > bound)
                or (limit_xid is not None and position.xid >= limit_xid)
            ):
                break
            last, until, count = position, max(until, int(row.changed_at)), count + 1
        if last is None:
            return 0
        # Every change in (start, last] was just read: a transaction that could still add
        # one there would be below the horizon, and none is.
        await conn.execute(
            call_changes.delete().where(
                c.tenant_id == tenant_id,
                _after(start),
                or_(c.xid < last.xid, and_(c.xid == last.xid, c.seq <= last.seq)),
            )
        )
        values = {"xid": last.xid, "seq": last.seq, "changed_until": until, "pruned_at": now}
        if mark is None:
            await conn.execute(sync_horizons.insert().values(tenant_id=tenant_id, **values))
        else:
            await conn.execute(
                update(sync_horizons).where(sync_horizons.c.tenant_id == tenant_id).values(**values)
            )
    return count
