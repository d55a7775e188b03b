"""Evaluation endpoints: the criteria, scoring a call, and the quality report."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from callhistory.answers import Answer, Items
from callhistory.auth.routes import Caller, engine_of
from callhistory.calls import openapi, params, queries, values
from callhistory.calls import shapes as call_shapes
from callhistory.calls.answers import CallDetail
from callhistory.config import get_settings
from callhistory.db import writing
from callhistory.envelope import ApiError, json_object, ok, validation_error
from callhistory.evaluations import criteria, report, shapes, store
from callhistory.evaluations.answers import Criterion, EvaluationReport
from callhistory.evaluations.criteria import CriterionIn

router = APIRouter(tags=["evaluations"])

MAX_ORDER_IDS = 1000

_CRITERIA_PATH = "/api/evaluation_criteria/call"
_CRITERION_NOT_FOUND: openapi.Responses = {
    "404": {"description": "criteria_not_found (also for another tenant's criterion)."}
}
_CONFLICT: openapi.Responses = {
    "409": {"description": "criteria_name_exists or too_many_criteria."}
}


def _json_body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_CRITERION_FIELDS = {
    "name": {"type": "string", "maxLength": criteria.MAX_NAME},
    "description": {"type": "string", "maxLength": criteria.MAX_DESCRIPTION},
    "max_score": {"type": "integer", "minimum": 1, "maximum": criteria.MAX_SCORE},
    "weight": {"type": "number", "exclusiveMinimum": 0, "maximum": criteria.MAX_WEIGHT},
    "active": {"type": "boolean"},
}
_EVALUATION_BODY = _json_body(
    {
        "user_uuid": {
            "type": "string",
            "description": "The evaluator: user id, extension or email.",
        },
        "evaluation": {
            "type": "object",
            "required": ["criteria"],
            "properties": {
                "criteria": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["criteria_id", "score"],
                        "properties": {
                            "criteria_id": {"type": "string"},
                            "score": {"type": "number", "minimum": 0},
                            "note": {"type": "string", "maxLength": store.MAX_NOTE},
                        },
                    },
                },
                "note": {"type": "string", "maxLength": store.MAX_NOTE},
            },
        },
    },
    ["user_uuid", "evaluation"],
)


@router.get(
    f"{_CRITERIA_PATH}/list",
    summary="The tenant's call-evaluation criteria, in the form's order",
    response_model=Answer[Items[Criterion]],
    openapi_extra={
        "parameters": [
            {
                "name": "include_inactive",
                "in": "query",
                "required": False,
                "schema": {"type": "boolean", "default": False},
                "description": "Also list deactivated criteria (after the active ones).",
            }
        ]
    },
    responses=openapi.ERRORS,
)
async def criteria_list(request: Request, caller: Caller) -> Any:
    raw = request.query_params.get("include_inactive")
    include_inactive = values.parse_bool("include_inactive", raw) or False
    async with engine_of(request).connect() as conn:
        rows = await criteria.listing(conn, caller.tenant_id, include_inactive)
    return ok({"items": [shapes.criterion(row) for row in rows]})


@router.post(
    _CRITERIA_PATH,
    summary="Create a criterion, last in the form",
    response_model=Answer[Criterion],
    status_code=201,
    openapi_extra={"requestBody": _json_body(_CRITERION_FIELDS, ["name", "max_score"])},
    responses={**openapi.ERRORS, **_CONFLICT},
)
async def criteria_create(request: Request, caller: Caller) -> Any:
    new = criteria.parse(await json_object(request), creating=True)
    async with writing(engine_of(request)) as conn:
        row = await criteria.create(conn, caller.tenant_id, new)
    return ok(shapes.criterion(row), status=201)


def _order_ids(body: dict[str, Any]) -> list[str]:
    ids = body.get("ids")
    if ids is None:
        raise validation_error("ids", "required")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise validation_error("ids", "must_be_a_list_of_strings")
    if len(ids) > MAX_ORDER_IDS:
        raise validation_error("ids", "too_many_items")
    if len(set(ids)) != len(ids):
        raise validation_error("ids", "duplicate_id")
    return ids


# Declared before `{criteria_id}` so that `order` is never read as an id.
@router.put(
    f"{_CRITERIA_PATH}/order",
    summary="Reorder the form: these criteria first, in this order, the others after",
    response_model=Answer[Items[Criterion]],
    openapi_extra={
        "requestBody": _json_body({"ids": {"type": "array", "items": {"type": "string"}}}, ["ids"])
    },
    responses={**openapi.ERRORS, **_CRITERION_NOT_FOUND},
)
async def criteria_order(request: Request, caller: Caller) -> Any:
    ids = _order_ids(await json_object(request))
    async with writing(engine_of(request)) as conn:
        await criteria.reorder(conn, caller.tenant_id, ids)
        rows = await criteria.listing(conn, caller.tenant_id)
    return ok({"items": [shapes.criterion(row) for row in rows]})


@router.put(
    f"{_CRITERIA_PATH}/{{criteria_id}}",
    summary="Change a criterion (any of its fields; active: true reactivates it)",
    response_model=Answer[Criterion],
    openapi_extra={"requestBody": _json_body(_CRITERION_FIELDS)},
    responses={**openapi.ERRORS, **_CRITERION_NOT_FOUND, **_CONFLICT},
)
async def criteria_update(criteria_id: str, request: Request, caller: Caller) -> Any:
    change = criteria.parse(await json_object(request), creating=False)
    async with writing(engine_of(request)) as conn:
        row = await criteria.update_one(conn, caller.tenant_id, criteria_id, change)
    return ok(shapes.criterion(row))


@router.delete(
    f"{_CRITERIA_PATH}/{{criteria_id}}",
    summary="Deactivate a criterion; past evaluations keep their scores",
    response_model=Answer[Criterion],
    responses={**openapi.ERRORS, **_CRITERION_NOT_FOUND},
)
async def criteria_deactivate(criteria_id: str, request: Request, caller: Caller) -> Any:
    async with writing(engine_of(request)) as conn:
        row = await criteria.update_one(
            conn, caller.tenant_id, criteria_id, CriterionIn(active=False)
        )
    return ok(shapes.criterion(row))


@router.post(
    "/api/call_transaction/add_evaluation/{transaction_id}",
    summary="Score a call against criteria (an evaluator's re-score replaces their own)",
    status_code=201,
    response_model=Answer[CallDetail],
    response_description="The call with its evaluations: the evaluator's first score.",
    openapi_extra={"requestBody": _EVALUATION_BODY},
    responses={
        **openapi.answer(200, Answer[CallDetail], "The evaluator's re-score replaced theirs."),
        **openapi.ERRORS,
        **openapi.NOT_FOUND,
    },
)
async def add_evaluation(transaction_id: str, request: Request, caller: Caller) -> Any:
    new = store.parse(await json_object(request))
    async with writing(engine_of(request)) as conn:
        created = await store.add(conn, caller.tenant_id, transaction_id, new)
        view = await queries.one(conn, caller.tenant_id, transaction_id)
    if view is None:  # store.add has just found it, in this transaction
        raise ApiError(404, "transaction_not_found")
    return ok(call_shapes.detail(view), status=201 if created else 200)


@router.get(
    "/api/evaluations/report",
    summary="Quality report: per agent and per criterion averages",
    response_model=Answer[EvaluationReport],
    openapi_extra={
        "parameters": [
            *openapi.WINDOW,
            {
                "name": "agents",
                "in": "query",
                "required": False,
                "schema": {"type": "array", "items": {"type": "string"}},
                "style": "form",
                "explode": True,
                "description": "Agents' emails.",
            },
        ]
    },
    responses=openapi.ERRORS,
)
async def evaluation_report(request: Request, caller: Caller) -> Any:
    q = request.query_params
    params.check_brackets(q, ("agents",))
    start, end = params.date_window(
        q.get("from_date"), q.get("to_date"), get_settings().max_window_days
    )
    chosen = report.ReportFilter(start, end, params.emails(params.query_array(q, "agents")))
    async with engine_of(request).connect() as conn:
        payload = await report.build(conn, caller.tenant_id, chosen)
    return ok(payload)
