"""Bulk upserts of the directories, and the platform's read endpoints over them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.answers import Answer, Page
from callhistory.auth.routes import Caller, engine_of
from callhistory.calls import openapi, params
from callhistory.calls.params import Paging
from callhistory.config import get_settings
from callhistory.db import writing
from callhistory.directory import answers, lists, store
from callhistory.directory.answers import BulkReport
from callhistory.directory.items import KINDS, Kind
from callhistory.envelope import EnvelopeResponse, json_object, ok, validation_error

router = APIRouter(tags=["directory"])

MAX_ITEMS = 1000  # per request: one transaction stays short and the body stays small

_ITEMS_BODY = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["items"],
                "properties": {"items": {"type": "array", "maxItems": MAX_ITEMS}},
            }
        }
    },
    "required": True,
}


_ERRORS = openapi.ERRORS
_PAGED = {"parameters": openapi.PAGING}
_SEARCHED = {
    "parameters": [
        *openapi.PAGING,
        {
            "name": "keyword",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "maxLength": params.MAX_KEYWORD},
            "description": "Case- and diacritics-insensitive; see docs/directory.md.",
        },
    ]
}


def _items(body: dict[str, Any]) -> list[Any]:
    raw = body.get("items")
    if raw is None:
        raise validation_error("items", "required")
    if not isinstance(raw, list):
        raise validation_error("items", "must_be_a_list")
    if len(raw) > MAX_ITEMS:
        raise validation_error("items", "too_many_items")
    return raw


async def _bulk(request: Request, tenant_id: str, kind: Kind) -> EnvelopeResponse:
    batch = _items(await json_object(request))
    async with writing(engine_of(request)) as conn:
        report = await store.bulk_upsert(conn, tenant_id, kind, batch)
    return ok(report.payload())


def _bulk_route(kind: Kind) -> None:
    async def bulk(request: Request, caller: Caller) -> Any:
        return await _bulk(request, caller.tenant_id, kind)

    router.add_api_route(
        f"/api/{kind}/bulk",
        bulk,
        methods=["POST"],
        name=f"bulk_{kind}",
        summary=f"Create or update {kind}, each item on its own",
        response_model=Answer[BulkReport],
        openapi_extra={"requestBody": _ITEMS_BODY},
        responses=_ERRORS,
    )


for _kind in KINDS:
    _bulk_route(_kind)


Lister = Callable[[AsyncConnection, Paging], Awaitable[lists.Page]]


async def _listed(request: Request, page_of: Lister) -> EnvelopeResponse:
    q = request.query_params
    params.check_brackets(q, ())
    paging = params.paging(q.get("page"), q.get("size"), get_settings().max_page_size)
    async with engine_of(request).connect() as conn:
        total, page = await page_of(conn, paging)
    return ok({"items": page, **params.page_info(paging, total)})


def _keyword(request: Request) -> str | None:
    return params.keyword(request.query_params.get("keyword"))


@router.get(
    "/api/agent/list",
    summary="The tenant's agents",
    response_model=Answer[Page[answers.Agent]],
    openapi_extra=_SEARCHED,
    responses=_ERRORS,
)
async def agent_list(request: Request, caller: Caller) -> Any:
    word = _keyword(request)
    return await _listed(request, lambda c, p: lists.agent_page(c, caller.tenant_id, word, p))


@router.get(
    "/api/call_center/internal_phone/list",
    summary="The tenant's extensions",
    response_model=Answer[Page[answers.Extension]],
    openapi_extra=_PAGED,
    responses=_ERRORS,
)
async def extension_list(request: Request, caller: Caller) -> Any:
    return await _listed(request, lambda c, p: lists.extension_page(c, caller.tenant_id, p))


@router.get(
    "/api/call_center/hotline/list",
    summary="The tenant's hotlines",
    response_model=Answer[Page[answers.Hotline]],
    openapi_extra=_PAGED,
    responses=_ERRORS,
)
async def hotline_list(request: Request, caller: Caller) -> Any:
    return await _listed(request, lambda c, p: lists.hotline_page(c, caller.tenant_id, p))


@router.get(
    "/api/call_center/internal_group/list",
    summary="The tenant's queues",
    response_model=Answer[Page[answers.Queue]],
    openapi_extra=_PAGED,
    responses=_ERRORS,
)
async def queue_list(request: Request, caller: Caller) -> Any:
    return await _listed(request, lambda c, p: lists.queue_page(c, caller.tenant_id, p))


@router.get(
    "/api/customers/list",
    summary="The tenant's customers",
    response_model=Answer[Page[answers.DirectoryCustomer]],
    openapi_extra=_SEARCHED,
    responses=_ERRORS,
)
async def customer_list(request: Request, caller: Caller) -> Any:
    word = _keyword(request)
    return await _listed(request, lambda c, p: lists.customer_page(c, caller.tenant_id, word, p))


@router.get(
    "/api/prices/list",
    summary="The tenant's outbound prices per carrier (VND a minute, billed in blocks)",
    response_model=Answer[Page[answers.Price]],
    openapi_extra=_PAGED,
    responses=_ERRORS,
)
async def price_list(request: Request, caller: Caller) -> Any:
    return await _listed(request, lambda c, p: lists.price_page(c, caller.tenant_id, p))
