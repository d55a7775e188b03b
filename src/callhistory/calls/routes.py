"""The contract's call endpoints: list, detail, change and search."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.answers import Answer, CamelPage, Page
from callhistory.auth.routes import Caller, ScopedCaller, engine_of
from callhistory.calls import deletion, openapi, params, queries, rules, shapes, store
from callhistory.calls.answers import CallDeleted, CallDetail, CallListItem, CallSearchItem
from callhistory.calls.params import CallFilter
from callhistory.calls.quality import quality_filters
from callhistory.config import get_settings
from callhistory.db import writing
from callhistory.envelope import ApiError, json_object, ok, validation_error
from callhistory.schema import CALL_OWNER, call_users

router = APIRouter(tags=["calls"])


def _list_filter(request: Request) -> CallFilter:
    q = request.query_params
    params.check_brackets(q, params.LIST_ARRAYS)
    return params.list_filter(
        lambda name: params.query_array(q, name), q.get, get_settings().max_window_days
    )


async def _counted_page(
    request: Request, tenant_id: str, call_filter: CallFilter
) -> tuple[dict[str, Any], list[queries.CallView]]:
    """The page the query asks for, and its paging fields (the total behind it)."""
    q = request.query_params
    paging = params.paging(q.get("page"), q.get("size"), get_settings().max_page_size)
    async with engine_of(request).connect() as conn:
        total, views = await queries.counted_page(conn, tenant_id, call_filter, paging)
    return params.page_info(paging, total.items, total.is_estimate), views


@router.get(
    "/api/call_transaction/list",
    summary="Filtered, paginated list of calls",
    response_model=Answer[Page[CallListItem]],
    openapi_extra={"parameters": openapi.LIST_PARAMETERS},
    responses=openapi.ERRORS,
)
async def list_calls(request: Request, caller: ScopedCaller) -> Any:
    call_filter = replace(_list_filter(request), agent_scope=caller.scope)
    info, views = await _counted_page(request, caller.tenant_id, call_filter)
    return ok({"items": [shapes.list_item(v) for v in views], **info})


@router.get(
    "/api/call_transaction/detail/{transaction_id}",
    summary="One call, in full",
    response_model=Answer[CallDetail],
    responses={**openapi.ERRORS, **openapi.NOT_FOUND},
)
async def call_detail(transaction_id: str, request: Request, caller: ScopedCaller) -> Any:
    async with engine_of(request).connect() as conn:
        view = await queries.one(conn, caller.tenant_id, transaction_id, caller.scope)
    if view is None:
        raise ApiError(404, "transaction_not_found")
    return ok(shapes.detail(view))


async def _user_position(
    conn: AsyncConnection, tenant_id: str, transaction_id: str, user_uuid: Any
) -> int:
    """The position on the call of the agent a `change` body names by id, extension or email."""
    if not isinstance(user_uuid, str) or not user_uuid.strip():
        raise validation_error("user_uuid", "must_be_a_string")
    wanted = user_uuid.strip()
    position = await conn.scalar(
        select(call_users.c.position)
        .where(
            call_users.c.tenant_id == tenant_id,
            call_users.c.transaction_id == transaction_id,
            or_(
                call_users.c.user_uuid == wanted,
                call_users.c.sip_user == wanted,
                call_users.c.email == wanted.lower(),
            ),
        )
        .order_by(call_users.c.position)  # an agent on the call twice: the first place
        .limit(1)
    )
    if position is None:
        raise validation_error("user_uuid", "user_not_on_call")
    return int(position)


@router.post(
    "/api/call_transaction/change/{transaction_id}",
    summary="Set a call's tags and note",
    response_model=Answer[CallDetail],
    openapi_extra={"requestBody": openapi.CHANGE_BODY},
    responses={**openapi.ERRORS, **openapi.NOT_FOUND},
)
async def change_call(transaction_id: str, request: Request, caller: ScopedCaller) -> Any:
    body = await json_object(request)
    if "tag" not in body and "note" not in body:
        raise validation_error("body", "tag_or_note_required")
    tag_names = None if body.get("tag") is None else store.clean_tag_names(body["tag"])
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        raise validation_error("note", "must_be_a_string")
    if note is not None and len(note) > rules.MAX_NOTE_LENGTH:
        raise validation_error("note", "too_long")
    async with writing(engine_of(request)) as conn:
        if await queries.one(conn, caller.tenant_id, transaction_id, caller.scope) is None:
            raise ApiError(404, "transaction_not_found")
        position = CALL_OWNER
        if body.get("user_uuid") is not None:
            position = await _user_position(
                conn, caller.tenant_id, transaction_id, body["user_uuid"]
            )
        view = await store.change(
            conn,
            caller.tenant_id,
            transaction_id,
            note=note or None,
            note_given="note" in body,
            tag_names=tag_names,
            user_position=position,
        )
    if view is None:
        raise ApiError(404, "transaction_not_found")
    return ok(shapes.detail(view))


def _search_filter(body: dict[str, Any]) -> CallFilter:
    settings = get_settings()
    start, end = params.date_window(
        body.get("from_date"), body.get("to_date"), settings.max_window_days
    )
    user_uuids = params.body_array(body, "user_uuids")
    if not user_uuids:
        raise ApiError(400, "user_uuids_is_required")
    return CallFilter(
        from_ms=start,
        to_ms=end,
        user_uuids=user_uuids,
        directions=params.choices(
            "direction", params.body_array(body, "direction"), params.DIRECTIONS
        ),
        dispositions=params.choices(
            "disposition", params.body_array(body, "disposition"), params.DISPOSITIONS
        ),
        tag_ids=params.body_array(body, "tags"),
        hotlines=params.hotline_numbers(params.body_array(body, "numbers")),
        **quality_filters(lambda name: params.body_array(body, name), body.get),
    )


@router.post(
    "/api/call_transaction/search",
    summary="Filtered list of calls, full item shape",
    response_model=Answer[CamelPage[CallSearchItem]],
    openapi_extra={"parameters": openapi.PAGING, "requestBody": openapi.SEARCH_BODY},
    responses=openapi.ERRORS,
)
async def search_calls(request: Request, caller: ScopedCaller) -> Any:
    params.check_brackets(request.query_params, ())  # its query string is page and size
    body = await json_object(request)
    call_filter = replace(_search_filter(body), agent_scope=caller.scope)
    info, views = await _counted_page(request, caller.tenant_id, call_filter)
    info = params.camel_page_info(info)
    return ok({"items": [shapes.search_item(v, caller.tenant_id) for v in views], **info})


@router.delete(
    "/api/call_transaction/detail/{transaction_id}",
    summary="Erase a call (a data-protection request); a tombstone and an audit row stay",
    response_model=Answer[CallDeleted],
    responses={**openapi.ERRORS, **openapi.NOT_FOUND},
)
async def delete_call(transaction_id: str, request: Request, caller: Caller) -> Any:
    erased = await deletion.erase(
        engine_of(request), get_settings(), caller.tenant_id, transaction_id, f"key:{caller.key_id}"
    )
    if erased is None:
        raise ApiError(404, "transaction_not_found")
    return ok(
        {
            "transaction_id": erased.transaction_id,
            "deleted_at": erased.deleted_at,
            "recording_removed": erased.recording_removed,
        }
    )
