"""Every refused post or batch item, kept with its reason and body, bounded per tenant.

Operators of other CDR systems lose records to a wrong URL or credential and never
know; here each refusal can be listed and, once the cause is fixed, replayed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from callhistory.db import new_id, now_ms
from callhistory.ops import count_rejected
from callhistory.schema import ingest_rejections

MAX_BODY_CHARS = 256 * 1024  # a FreeSWITCH leg is ~20 KB; keep far more than that
KEEP_PER_TENANT = 1000
STORE_FAILED = "store_failed"  # valid, but the database refused the call


@dataclass(frozen=True)
class Rejection:
    id: str
    received_at: int
    source: str
    reason: str
    detail: str
    content_type: str
    query: str
    body: str
    replayed_at: int | None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "received_at": self.received_at,
            "source": self.source,
            "reason": self.reason,
            "detail": self.detail,
            "content_type": self.content_type,
            "query": self.query,
            "body": self.body,
            "replayed_at": self.replayed_at,
        }


class NotReplayable(Exception):
    """The rejection still cannot be ingested; `code` says why. Raised by the replayers
    (replay.py's own, and ingest.backfill's for batch items and import lines), which is why
    it lives here and not in either."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _text(body: bytes | str) -> str:
    text = body if isinstance(body, str) else body.decode("utf-8", errors="replace")
    return text[:MAX_BODY_CHARS]


@dataclass(frozen=True)
class Refusal:
    """One refused post or item, as it is to be kept."""

    source: str
    reason: str
    detail: str = ""
    content_type: str = ""
    query: str = ""
    body: bytes | str = b""


async def record(engine: AsyncEngine, tenant_id: str, **refusal: Any) -> str:
    """Keep one refusal (fields of `Refusal`) in its own transaction: the refused work
    was rolled back."""
    [rejection_id] = await record_many(engine, tenant_id, [Refusal(**refusal)])
    return rejection_id


async def record_many(engine: AsyncEngine, tenant_id: str, refusals: list[Refusal]) -> list[str]:
    """Keep many refusals in one transaction: a batch of bad items costs one commit."""
    if not refusals:
        return []
    received = now_ms()
    rows: list[dict[str, Any]] = [
        {
            "tenant_id": tenant_id,
            "id": new_id(),
            "received_at": received,
            "source": r.source,
            "reason": r.reason,
            "detail": r.detail[:1000],
            "content_type": r.content_type[:200],
            "query": r.query[:2000],
            "body": _text(r.body),
        }
        for r in refusals
    ]
    async with engine.begin() as conn:
        await conn.execute(ingest_rejections.insert(), rows)
        await _trim(conn, tenant_id)
    count_rejected(r.reason for r in refusals)
    return [row["id"] for row in rows]


async def _trim(conn: AsyncConnection, tenant_id: str) -> None:
    """Drop the oldest beyond KEEP_PER_TENANT, so a misconfigured PBX cannot fill the disk."""
    cutoff = await conn.scalar(
        select(ingest_rejections.c.received_at)
        .where(ingest_rejections.c.tenant_id == tenant_id)
        .order_by(ingest_rejections.c.received_at.desc())
        .offset(KEEP_PER_TENANT)
        .limit(1)
    )
    if cutoff is not None:
        await conn.execute(
            delete(ingest_rejections).where(
                ingest_rejections.c.tenant_id == tenant_id,
                ingest_rejections.c.received_at <= cutoff,
            )
        )


async def recent(
    conn: AsyncConnection, tenant_id: str, limit: int = 50, pending_only: bool = False
) -> list[Rejection]:
    query = select(ingest_rejections).where(ingest_rejections.c.tenant_id == tenant_id)
    if pending_only:
        query = query.where(ingest_rejections.c.replayed_at.is_(None))
    rows = await conn.execute(
        query.order_by(ingest_rejections.c.received_at.desc(), ingest_rejections.c.id).limit(limit)
    )
    return [
        Rejection(
            r.id,
            r.received_at,
            r.source,
            r.reason,
            r.detail,
            r.content_type,
            r.query,
            r.body,
            r.replayed_at,
        )
        for r in rows
    ]


async def mark_replayed(conn: AsyncConnection, tenant_id: str, rejection_id: str) -> None:
    await conn.execute(
        update(ingest_rejections)
        .where(ingest_rejections.c.tenant_id == tenant_id, ingest_rejections.c.id == rejection_id)
        .values(replayed_at=now_ms())
    )
