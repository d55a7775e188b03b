"""`GET /api/call_transaction/sync`: calls created or changed since a cursor."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from callhistory.answers import Answer
from callhistory.auth.routes import ScopedCaller, engine_of
from callhistory.calls import openapi, params, queries, shapes
from callhistory.config import get_settings
from callhistory.envelope import ApiError, ok
from callhistory.sync import feed, pages
from callhistory.sync.answers import SyncPage

router = APIRouter(tags=["sync"])

CURSOR_EXPIRED: openapi.Responses = {
    410: {
        "description": "`cursor_expired`: retention pruned changes this cursor had yet to "
        "read (CALLHISTORY_RETENTION_CHANGES_DAYS); sync again from `from_date`."
    }
}


def sync_item(view: queries.CallView, tenant_id: str) -> dict[str, Any]:
    """The list item plus the tenant and whether the call was deleted since."""
    return {**shapes.list_item(view), "tenant_id": tenant_id, "is_deleted": view.row.is_deleted}


@router.get(
    "/api/call_transaction/sync",
    summary="Calls created or changed since a cursor",
    response_model=Answer[SyncPage],
    openapi_extra={"parameters": openapi.SYNC_PARAMETERS},
    responses=CURSOR_EXPIRED,
)
async def sync_calls(request: Request, caller: ScopedCaller) -> Any:
    q = request.query_params
    params.check_brackets(q, ())
    secret = get_settings().secret_key
    size = min(params.positive_int("size", q.get("size"), feed.MAX_PAGE), feed.MAX_PAGE)
    cursor = q.get("cursor")
    if cursor:
        place = feed.decode_cursor(secret, caller.tenant_id, cursor)
    else:
        raw_from = q.get("from_date")
        if raw_from in (None, ""):
            raise ApiError(400, "from_date_or_cursor_is_required")
        place = feed.Place(feed.START, params.epoch_ms(raw_from, "from"))
    async with engine_of(request).connect() as conn:
        page = await pages.next_page(conn, caller.tenant_id, place, size, fresh=not cursor)
    return ok(
        {
            "items": [
                sync_item(view, caller.tenant_id)
                for view in page.views
                if queries.took_part(view, caller.scope)
            ],
            "cursor": feed.encode_cursor(secret, caller.tenant_id, page.place),
            "has_more": page.has_more,
        }
    )
