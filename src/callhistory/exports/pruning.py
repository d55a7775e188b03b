"""Retention for exports: a file goes once every download link to it has expired.

A link is valid for CALLHISTORY_EXPORT_LINK_TTL_SECONDS and each GET of the export hands
out a fresh one (recorded in `link_expires_at`, see runner.extend_link); an export nobody
asked about expires a TTL after it finished. A short grace lets a download that started
just before its link expired finish. The row stays, marked `expired`, so GET says so and
the download answers 410 export_expired.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.db import writing
from callhistory.schema import exports

GRACE_MS = 5 * 60_000

log = logging.getLogger("callhistory.retention")


async def prune_batch(
    engine: AsyncEngine, tenant_id: str, now: int, ttl_ms: int, limit: int
) -> int:
    """Remove up to `limit` of the tenant's expired export files; how many."""
    e = exports.c
    expiry = func.coalesce(e.link_expires_at, e.finished_at + ttl_ms)
    stale = (e.tenant_id == tenant_id) & (e.status == "done") & (expiry < now - GRACE_MS)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(e.id, e.path).where(stale).limit(limit))).all()
    removed = 0
    for row in rows:
        try:
            async with writing(engine) as conn:
                # Marked first, on the same conditions: a GET that handed out a link
                # meanwhile keeps it. The file goes before the commit: if it cannot be
                # removed, the row stays done and the next round tries again.
                result = await conn.execute(
                    update(exports).where(stale, e.id == row.id).values(status="expired", path=None)
                )
                if result.rowcount and row.path:
                    # off the event loop: the directory may be a network volume
                    await asyncio.to_thread(Path(row.path).unlink, missing_ok=True)
        except OSError:
            log.warning("export file %s could not be removed", row.path, exc_info=True)
            continue
        removed += int(bool(result.rowcount))
    return removed
