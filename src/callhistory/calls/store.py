"""Writing calls: tags by name, notes, and the folded text that keyword search reads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.calls.queries import CallView, one
from callhistory.calls.rules import TagProblem, tag_names
from callhistory.db import among, new_id, now_ms
from callhistory.envelope import validation_error
from callhistory.phones import forms
from callhistory.schema import CALL_OWNER, call_tags, call_users, calls, tags
from callhistory.text import fold


def search_text(
    numbers: Iterable[str | None],
    names: Iterable[str | None],
    notes: Iterable[str | None],
    tag_names: Iterable[str],
) -> str:
    """One folded string of everything `keyword` matches, numbers in each written form."""
    parts: list[str] = []
    for number in numbers:
        if number:
            parts.extend(forms(number))
    parts.extend(fold(text) for text in (*names, *notes, *tag_names) if text)
    # Joined by newlines: keyword words never hold whitespace, so none can match a joint.
    return "\n".join(dict.fromkeys(p for p in parts if p))


def view_search_text(view: CallView) -> str:
    row = view.row
    return search_text(
        [row.source_number, row.destination_number],
        [row.customer_name, *(u.row.full_name for u in view.users)],
        [row.note, *(u.row.note for u in view.users)],
        [name for _, name in view.tags] + [name for u in view.users for _, name in u.tags],
    )


def clean_tag_names(raw: Any) -> list[str]:
    """tag_names of a request's `tag`, or the API's validation error."""
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise validation_error("tag", "must_be_a_list_of_strings")
    try:
        return tag_names(raw)
    except TagProblem as exc:
        raise validation_error("tag", exc.code) from None


def _insert_ignoring_conflicts(conn: AsyncConnection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


async def tag_ids_for(conn: AsyncConnection, tenant_id: str, names: Sequence[str]) -> list[str]:
    """The ids of the named tags, creating the unknown ones (compared folded)."""
    if not names:
        return []
    folded = [fold(n) for n in names]
    created = now_ms()
    await conn.execute(
        _insert_ignoring_conflicts(conn, tags),
        [
            {
                "tenant_id": tenant_id,
                "id": new_id(),
                "name": n,
                "name_folded": f,
                "created_at": created,
            }
            for n, f in zip(names, folded, strict=True)
        ],
    )
    rows = await conn.execute(
        select(tags.c.name_folded, tags.c.id).where(
            tags.c.tenant_id == tenant_id, among(tags.c.name_folded, folded)
        )
    )
    ids = {folded: tag_id for folded, tag_id in rows}
    return [ids[f] for f in folded]


async def set_tags(conn: AsyncConnection, view: CallView, owner: int, names: Sequence[str]) -> None:
    row = view.row
    tag_ids = await tag_ids_for(conn, row.tenant_id, names)
    await conn.execute(
        delete(call_tags).where(
            call_tags.c.tenant_id == row.tenant_id,
            call_tags.c.transaction_id == row.transaction_id,
            call_tags.c.user_position == owner,
        )
    )
    if tag_ids:
        await conn.execute(
            call_tags.insert(),
            [
                {
                    "tenant_id": row.tenant_id,
                    "transaction_id": row.transaction_id,
                    "user_position": owner,
                    "tag_id": tag_id,
                    "position": index,
                    "created_date": row.created_date,
                }
                for index, tag_id in enumerate(tag_ids)
            ],
        )


async def change(
    conn: AsyncConnection,
    tenant_id: str,
    transaction_id: str,
    *,
    note: str | None,
    note_given: bool,
    tag_names: list[str] | None,
    user_position: int = CALL_OWNER,
) -> CallView | None:
    """Set the note and/or tags of a call (or of one agent on it); None if there is no call."""
    # Locked first (PostgreSQL), so two changes of one call cannot each write a search text
    # that misses the other's part.
    await conn.execute(
        select(calls.c.transaction_id)
        .where(calls.c.tenant_id == tenant_id, calls.c.transaction_id == transaction_id)
        .with_for_update()
    )
    view = await one(conn, tenant_id, transaction_id)
    if view is None:
        return None
    changed_at = now_ms()
    if tag_names is not None:
        await set_tags(conn, view, user_position, tag_names)
    key = and_(calls.c.tenant_id == tenant_id, calls.c.transaction_id == transaction_id)
    if note_given and user_position == CALL_OWNER:
        await conn.execute(update(calls).where(key).values(note=note))
    elif note_given:
        await conn.execute(
            update(call_users)
            .where(
                call_users.c.tenant_id == tenant_id,
                call_users.c.transaction_id == transaction_id,
                call_users.c.position == user_position,
            )
            .values(note=note, note_created_date=changed_at if note else None)
        )
    return await refresh(conn, tenant_id, transaction_id, changed_at)


async def refresh(
    conn: AsyncConnection, tenant_id: str, transaction_id: str, changed_at: int
) -> CallView | None:
    """Recompute the call's search text and bump `last_updated_date` after a change."""
    view = await one(conn, tenant_id, transaction_id)
    if view is None:
        return None
    await conn.execute(
        update(calls)
        .where(calls.c.tenant_id == tenant_id, calls.c.transaction_id == transaction_id)
        .values(search_text=view_search_text(view), last_updated_date=changed_at)
    )
    return await one(conn, tenant_id, transaction_id)
