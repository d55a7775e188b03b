"""The tag catalogue's endpoints: what `change` names and the search's `tags` filter takes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from callhistory.answers import Answer, Page
from callhistory.auth.routes import Caller, ScopedCaller, engine_of
from callhistory.calls import openapi, params
from callhistory.config import get_settings
from callhistory.db import writing
from callhistory.envelope import json_object, ok
from callhistory.tags import store
from callhistory.tags.answers import Tag

router = APIRouter(tags=["tags"])

_NAME_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string", "maxLength": 100}},
            }
        }
    },
}
_NOT_FOUND: openapi.Responses = {
    "404": {"description": "tag_not_found (also for another tenant's tag)."}
}
_CONFLICT: openapi.Responses = {
    "409": {"description": "tag_exists: the name, folded, is another tag's."}
}


@router.get(
    "/api/tags",
    summary="The tenant's tags, with how many calls carry each",
    response_model=Answer[Page[Tag]],
    openapi_extra={
        "parameters": [
            *openapi.PAGING,
            {
                "name": "keyword",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "maxLength": params.MAX_KEYWORD},
                "description": "Part of the name, case- and diacritics-insensitive.",
            },
        ]
    },
    responses=openapi.ERRORS,
)
async def tag_list(request: Request, caller: ScopedCaller) -> Any:
    q = request.query_params
    params.check_brackets(q, ())
    paging = params.paging(q.get("page"), q.get("size"), get_settings().max_page_size)
    keyword = params.keyword(q.get("keyword"))
    async with engine_of(request).connect() as conn:
        total, items = await store.page(conn, caller.tenant_id, keyword, paging)
    return ok({"items": items, **params.page_info(paging, total)})


@router.post(
    "/api/tags",
    summary="Create a tag",
    response_model=Answer[Tag],
    status_code=201,
    openapi_extra={"requestBody": _NAME_BODY},
    responses={**openapi.ERRORS, **_CONFLICT},
)
async def tag_create(request: Request, caller: Caller) -> Any:
    name = store.clean_name((await json_object(request)).get("name"))
    async with writing(engine_of(request)) as conn:
        tag = await store.create(conn, caller.tenant_id, name)
    return ok(tag, status=201)


@router.put(
    "/api/tags/{tag_id}",
    summary="Rename a tag: every call carrying it shows the new name",
    response_model=Answer[Tag],
    openapi_extra={"requestBody": _NAME_BODY},
    responses={**openapi.ERRORS, **_NOT_FOUND, **_CONFLICT},
)
async def tag_rename(tag_id: str, request: Request, caller: Caller) -> Any:
    name = store.clean_name((await json_object(request)).get("name"))
    async with writing(engine_of(request)) as conn:
        tag = await store.rename(conn, caller.tenant_id, tag_id, name)
    return ok(tag)


@router.delete(
    "/api/tags/{tag_id}",
    summary="Delete a tag and take it off every call",
    response_model=Answer[Tag],
    responses={**openapi.ERRORS, **_NOT_FOUND},
)
async def tag_delete(tag_id: str, request: Request, caller: Caller) -> Any:
    async with writing(engine_of(request)) as conn:
        tag = await store.remove(conn, caller.tenant_id, tag_id)
    return ok(tag)
