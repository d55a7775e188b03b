"""The platform's webhook endpoints, plus ours: recent deliveries and redelivery."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from callhistory.answers import Answer, Items
from callhistory.auth.routes import Caller, engine_of
from callhistory.calls import openapi, params
from callhistory.config import get_settings
from callhistory.db import now_ms, writing
from callhistory.envelope import ApiError, json_object, ok, validation_error
from callhistory.webhooks import answers, store, targets

router = APIRouter(tags=["webhooks"])

STATUSES = ("pending", "delivered", "parked")


@router.get(
    "/api/webhooks/list",
    summary="The tenant's webhooks",
    response_model=Answer[Items[answers.Webhook]],
)
async def list_hooks(request: Request, caller: Caller) -> Any:
    async with engine_of(request).connect() as conn:
        hooks = await store.hooks_of(conn, caller.tenant_id)
    return ok({"items": [h.public() for h in hooks]})


@router.post(
    "/api/webhooks/register",
    summary="Create or replace the webhook of a type",
    status_code=201,
    response_model=Answer[answers.RegisteredWebhook],
    openapi_extra={"requestBody": openapi.WEBHOOK_BODY},
)
async def register_hook(request: Request, caller: Caller) -> Any:
    body = await json_object(request)
    spec = body.get("webhook")
    if not isinstance(spec, dict):
        raise validation_error("webhook", "must_be_an_object")
    hook_type = spec.get("type", "call")
    if hook_type not in store.HOOK_TYPES:
        raise validation_error("webhook.type", "invalid_choice")
    settings = get_settings()
    url = store.check_url(spec.get("url"), settings.environment == "development")
    events = store.check_events(spec.get("events", ["hangup", "updated", "deleted"]))
    try:  # every address it resolves to must be one webhooks may call (targets.py)
        await targets.check_url(url, targets.Policy.of(settings))
    except targets.TargetRefused as exc:
        raise validation_error("webhook.url", exc.code) from exc
    async with writing(engine_of(request)) as conn:
        hook = await store.register(conn, caller.tenant_id, hook_type, url, events)
    # The secret is shown here once; it is never listed.
    return ok({**hook.public(), "secret": hook.secret}, status=201)


@router.post(
    "/api/webhooks/destroy",
    summary="Delete the webhook of a type",
    response_model=Answer[answers.WebhookDestroyed],
    responses=openapi.WEBHOOK_NOT_FOUND,
    openapi_extra={"parameters": openapi.HOOK_TYPE},
)
async def destroy_hook(request: Request, caller: Caller) -> Any:
    hook_type = request.query_params.get("hook_type", "call")
    async with writing(engine_of(request)) as conn:
        if not await store.destroy(conn, caller.tenant_id, hook_type):
            raise ApiError(404, "webhook_not_found")
    return ok({"hook_type": hook_type, "deleted": True})


@router.get(
    "/api/webhooks/deliveries",
    summary="Recent delivery attempts, newest first",
    response_model=Answer[Items[answers.Delivery]],
    openapi_extra={"parameters": openapi.DELIVERIES_PARAMETERS},
)
async def list_deliveries(request: Request, caller: Caller) -> Any:
    q = request.query_params
    params.check_brackets(q, ())
    status = q.get("status") or None
    if status is not None and status not in STATUSES:
        raise validation_error("status", "invalid_choice")
    size = min(params.positive_int("size", q.get("size"), 50), 200)
    async with engine_of(request).connect() as conn:
        items = await store.recent_deliveries(conn, caller.tenant_id, status, size)
    return ok({"items": items})


@router.post(
    "/api/webhooks/deliveries/{delivery_id}/redeliver",
    summary="Send a delivery again (same id and body)",
    status_code=202,
    response_model=Answer[answers.Redelivery],
    responses=openapi.DELIVERY_NOT_FOUND,
)
async def redeliver(delivery_id: str, request: Request, caller: Caller) -> Any:
    async with writing(engine_of(request)) as conn:
        if not await store.redeliver(conn, caller.tenant_id, delivery_id, now_ms()):
            raise ApiError(404, "delivery_not_found")
    return ok({"id": delivery_id, "status": "pending"}, status=202)
