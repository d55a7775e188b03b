"""A new reader whose window reaches into pruned history reads the calls themselves.

Retention removes old changes from the feed, so from_date=0 could no longer find a call
whose every change was pruned. Such a reader first pages through the tenant's calls in
(created_date, transaction_id) order, each in its current state, then goes on in the
feed from an anchor taken before the first page (feed.snapshot_anchor): every change at
or before the anchor had committed, so the pages show it; every later one is in the feed
after it. A call may so appear twice; readers upsert by transaction_id anyway.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.schema import calls
from callhistory.sync.feed import Key

START: Key = (-(2**62), "")  # before every call


async def page(
    conn: AsyncConnection, tenant_id: str, after: Key, from_ms: int, limit: int
) -> list[Key]:
    """The keys of up to `limit` calls after `after` created or changed since `from_ms`
    (deleted ones too: a mirror must learn of them)."""
    c = calls.c
    conds = [
        c.tenant_id == tenant_id,
        or_(
            c.created_date > after[0],
            and_(c.created_date == after[0], c.transaction_id > after[1]),
        ),
    ]
    if from_ms:
        # every change bumps last_updated_date, so it stands for the pruned changes' times
        conds.append(or_(c.created_date >= from_ms, c.last_updated_date >= from_ms))
    rows = await conn.execute(
        select(c.created_date, c.transaction_id)
        .where(*conds)
        .order_by(c.created_date, c.transaction_id)
        .limit(limit)
    )
    return [(int(r.created_date), str(r.transaction_id)) for r in rows]
