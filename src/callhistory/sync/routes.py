"""`GET /api/call_transaction/sync`: calls created or changed since a cursor."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from callhistory.auth.routes import Caller, engine_of
from callhistory.calls import params, queries, shapes
from callhistory.config import get_settings
from callhistory.envelope import ApiError, ok, validation_error
from callhistory.sync import feed

router = APIRouter(tags=["sync"])


def sync_item(view: queries.CallView, tenant_id: str) -> dict[str, Any]:
    """The list item plus the tenant and whether the call was deleted since."""
    return {**shapes.list_item(view), "tenant_id": tenant_id, "is_deleted": view.row.is_deleted}


@router.get("/api/call_transaction/sync", summary="Calls created or changed since a cursor")
async def sync_calls(request: Request, caller: Caller) -> Any:
    q = request.query_params
    secret = get_settings().secret_key
    size = min(params.positive_int("size", q.get("size"), feed.MAX_PAGE), feed.MAX_PAGE)
    cursor = q.get("cursor")
    if cursor:
        after, from_ms = feed.decode_cursor(secret, caller.tenant_id, cursor)
    else:
        raw_from = q.get("from_date")
        if raw_from in (None, ""):
            raise ApiError(400, "from_date_or_cursor_is_required")
        try:
            from_ms = int(str(raw_from))
        except ValueError as exc:
            raise ApiError(400, "date_invalid") from exc
        if from_ms < 0:
            raise validation_error("from_date", "date_invalid")
        after = feed.START
    async with engine_of(request).connect() as conn:
        # One more than asked: tells `has_more` without a count.
        changes = await feed.read(conn, caller.tenant_id, after, size + 1, from_ms)
        has_more = len(changes) > size
        changes = changes[:size]
        latest = feed.latest_per_call(changes)
        views = await queries.by_ids(conn, caller.tenant_id, [c.transaction_id for c in latest])
    by_id = {v.row.transaction_id: v for v in views}
    items = [
        sync_item(by_id[c.transaction_id], caller.tenant_id)
        for c in latest
        if c.transaction_id in by_id
    ]
    position = changes[-1].position if changes else after
    return ok(
        {
            "items": items,
            "cursor": feed.encode_cursor(secret, caller.tenant_id, position, from_ms),
            "has_more": has_more,
        }
    )
