"""One page of a tenant's sync: the changes after a place, or the calls themselves while a
new reader's window reaches into pruned history (sync.snapshot)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.calls import queries
from callhistory.envelope import ApiError
from callhistory.sync import feed, snapshot


@dataclass(frozen=True)
class Page:
    views: list[queries.CallView]  # in the order to serve them
    place: feed.Place  # where the next page starts
    has_more: bool


def expired() -> ApiError:
    """Retention pruned changes this cursor had yet to read: start again from from_date
    (a full read of the calls, then the feed). No payload: a failure's payload is only
    ever validation problems (answers.Failure)."""
    return ApiError(410, "cursor_expired")


async def _views(
    conn: AsyncConnection, tenant_id: str, transaction_ids: Sequence[str]
) -> list[queries.CallView]:
    found = {
        v.row.transaction_id: v for v in await queries.by_ids(conn, tenant_id, transaction_ids)
    }
    return [found[t] for t in transaction_ids if t in found]


async def next_page(
    conn: AsyncConnection, tenant_id: str, place: feed.Place, size: int, fresh: bool
) -> Page:
    """Up to `size` calls after `place`; `fresh`: the reader has no cursor yet."""
    if place.snapshot is None:
        # One more than asked: tells `has_more` without a count.
        changes = await feed.read(conn, tenant_id, place.after, size + 1, place.from_ms)
        mark = await feed.pruned(conn, tenant_id)  # after the read, see feed.pruned
        if mark is None or not mark.hides(place):
            has_more = len(changes) > size
            changes = changes[:size]
            latest = feed.latest_per_call(changes)
            after = changes[-1].position if changes else place.after
            views = await _views(conn, tenant_id, [c.transaction_id for c in latest])
            return Page(views, feed.Place(after, place.from_ms), has_more)
        if not fresh:
            raise expired()
        # Whatever was pruned had committed too (SQLite: the feed may now be empty).
        anchor = max(await feed.snapshot_anchor(conn, tenant_id), mark.position)
        place = feed.Place(anchor, place.from_ms, snapshot.START)
    assert place.snapshot is not None
    keys = await snapshot.page(conn, tenant_id, place.snapshot, place.from_ms, size + 1)
    mark = await feed.pruned(conn, tenant_id)
    if mark is not None and mark.hides(place):  # pruned past the anchor meanwhile
        raise expired()
    has_more = len(keys) > size
    keys = keys[:size]
    views = await _views(conn, tenant_id, [k[1] for k in keys])
    # When the calls are all read, the feed goes on from the anchor: more to come either way.
    following = feed.Place(place.after, place.from_ms, keys[-1] if has_more else None)
    return Page(views, following, True)
