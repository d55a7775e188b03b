"""The tag catalogue: a page with usage counts, create, rename, delete.

Calls show tags by name and keyword search reads tag names from each call's folded
`search_text`, so renaming or deleting a tag rewrites that text on every call carrying
it, in the same transaction, and bumps their `last_updated_date`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.calls import queries
from callhistory.calls.params import Paging
from callhistory.calls.rules import MAX_TAG_LENGTH
from callhistory.calls.store import view_search_text
from callhistory.db import among, new_id, now_ms
from callhistory.envelope import ApiError, validation_error
from callhistory.schema import call_tags, calls, tags
from callhistory.text import fold

REINDEX_CHUNK = 500  # calls rewritten per round trip: bounded IN lists, bounded memory


def clean_name(raw: Any) -> str:
    """Trimmed, inner runs of spaces made one (as `change` does); kept as typed otherwise."""
    if raw is None:
        raise validation_error("name", "required")
    if not isinstance(raw, str):
        raise validation_error("name", "must_be_a_string")
    name = " ".join(raw.split())
    if not name:
        raise validation_error("name", "empty")
    if len(name) > MAX_TAG_LENGTH:
        raise validation_error("name", "too_long")
    return name


def shape(tag_id: str, name: str, count: int) -> dict[str, Any]:
    return {"id": tag_id, "name": name, "count": count}


async def _counts(conn: AsyncConnection, tenant_id: str, ids: Sequence[str]) -> dict[str, int]:
    """How many (not deleted) calls carry each tag, as their own or an agent's tag."""
    rows = await conn.execute(
        select(call_tags.c.tag_id, func.count(func.distinct(call_tags.c.transaction_id)))
        .join(
            calls,
            (calls.c.tenant_id == call_tags.c.tenant_id)
            & (calls.c.transaction_id == call_tags.c.transaction_id),
        )
        .where(
            call_tags.c.tenant_id == tenant_id,
            among(call_tags.c.tag_id, list(ids)),
            calls.c.is_deleted.is_(False),
        )
        .group_by(call_tags.c.tag_id)
    )
    return {tag_id: int(n) for tag_id, n in rows}


async def page(
    conn: AsyncConnection, tenant_id: str, keyword: str | None, paging: Paging
) -> tuple[int, list[dict[str, Any]]]:
    """Tags by name (folded), with counts for the page's tags only."""
    query = select(tags.c.id, tags.c.name).where(tags.c.tenant_id == tenant_id)
    if keyword:
        query = query.where(tags.c.name_folded.contains(fold(keyword), autoescape=True))
    total = int(await conn.scalar(select(func.count()).select_from(query.subquery())) or 0)
    if not total:
        return 0, []
    rows = (
        await conn.execute(
            query.order_by(tags.c.name_folded, tags.c.id).limit(paging.size).offset(paging.offset)
        )
    ).all()
    counts = await _counts(conn, tenant_id, [row.id for row in rows])
    return total, [shape(row.id, row.name, counts.get(row.id, 0)) for row in rows]


async def get(conn: AsyncConnection, tenant_id: str, tag_id: str) -> Row[Any]:
    row = (
        await conn.execute(select(tags).where(tags.c.tenant_id == tenant_id, tags.c.id == tag_id))
    ).first()
    if row is None:
        raise ApiError(404, "tag_not_found")
    return row


async def _name_taken(conn: AsyncConnection, tenant_id: str, name: str, own_id: str | None) -> bool:
    other = await conn.scalar(
        select(tags.c.id).where(tags.c.tenant_id == tenant_id, tags.c.name_folded == fold(name))
    )
    return other is not None and other != own_id


async def create(conn: AsyncConnection, tenant_id: str, name: str) -> dict[str, Any]:
    if await _name_taken(conn, tenant_id, name, None):
        raise ApiError(409, "tag_exists")
    tag_id = new_id()
    try:
        await conn.execute(
            tags.insert().values(
                tenant_id=tenant_id,
                id=tag_id,
                name=name,
                name_folded=fold(name),
                created_at=now_ms(),
            )
        )
    except IntegrityError as exc:  # a concurrent writer took the name after our check
        raise ApiError(409, "tag_exists") from exc
    return shape(tag_id, name, 0)


async def _carrying(conn: AsyncConnection, tenant_id: str, tag_id: str) -> list[str]:
    rows = await conn.execute(
        select(call_tags.c.transaction_id)
        .where(call_tags.c.tenant_id == tenant_id, call_tags.c.tag_id == tag_id)
        .distinct()
    )
    return [transaction_id for (transaction_id,) in rows]


async def reindex(conn: AsyncConnection, tenant_id: str, transaction_ids: Sequence[str]) -> None:
    """Recompute these calls' search text from their parts, and bump last_updated_date."""
    changed_at = now_ms()
    statement = (
        update(calls)
        .where(calls.c.tenant_id == tenant_id, calls.c.transaction_id == bindparam("b_tx"))
        .values(search_text=bindparam("b_text"), last_updated_date=changed_at)
    )
    for start in range(0, len(transaction_ids), REINDEX_CHUNK):
        chunk = transaction_ids[start : start + REINDEX_CHUNK]
        # Locked before reading (PostgreSQL), as `change` locks its call: neither can write
        # a search text computed from parts the other is changing.
        await conn.execute(
            select(calls.c.transaction_id)
            .where(calls.c.tenant_id == tenant_id, among(calls.c.transaction_id, chunk))
            .with_for_update()
        )
        views = await queries.by_ids(conn, tenant_id, chunk)
        await conn.execute(
            statement,
            [{"b_tx": v.row.transaction_id, "b_text": view_search_text(v)} for v in views],
        )


async def rename(conn: AsyncConnection, tenant_id: str, tag_id: str, name: str) -> dict[str, Any]:
    await get(conn, tenant_id, tag_id)
    if await _name_taken(conn, tenant_id, name, tag_id):
        raise ApiError(409, "tag_exists")
    try:
        await conn.execute(
            update(tags)
            .where(tags.c.tenant_id == tenant_id, tags.c.id == tag_id)
            .values(name=name, name_folded=fold(name))
        )
    except IntegrityError as exc:
        raise ApiError(409, "tag_exists") from exc
    carrying = await _carrying(conn, tenant_id, tag_id)
    await reindex(conn, tenant_id, carrying)
    counts = await _counts(conn, tenant_id, [tag_id])
    return shape(tag_id, name, counts.get(tag_id, 0))


async def remove(conn: AsyncConnection, tenant_id: str, tag_id: str) -> dict[str, Any]:
    """Delete the tag and take it off every call; answers it with the calls it was on."""
    row = await get(conn, tenant_id, tag_id)
    count = (await _counts(conn, tenant_id, [tag_id])).get(tag_id, 0)
    carrying = await _carrying(conn, tenant_id, tag_id)
    await conn.execute(
        delete(call_tags).where(call_tags.c.tenant_id == tenant_id, call_tags.c.tag_id == tag_id)
    )
    await conn.execute(delete(tags).where(tags.c.tenant_id == tenant_id, tags.c.id == tag_id))
    await reindex(conn, tenant_id, carrying)
    return shape(tag_id, row.name, count)
