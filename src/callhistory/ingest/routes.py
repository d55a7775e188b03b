"""Ingest over HTTP: `POST /api/cdr/freeswitch` (mod_json_cdr) and the rejections log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPBasic, HTTPBasicCredentials
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.answers import Answer, Items
from callhistory.auth import attempts, keys
from callhistory.auth.keys import KeyRef
from callhistory.auth.routes import Caller, engine_of, limit
from callhistory.calls import openapi
from callhistory.config import get_settings
from callhistory.envelope import ApiError, ok
from callhistory.guards import read_limited
from callhistory.ingest import rejections
from callhistory.ingest.answers import LegStored, Rejection
from callhistory.ingest.enrich import RecordingUrls
from callhistory.ingest.formats.freeswitch import CdrError, decode_body, parse_leg
from callhistory.ingest.pipeline import PostedLeg
from callhistory.ingest.queue import LegQueue, StoreFailed
from callhistory.ingest.rejections import STORE_FAILED
from callhistory.ops import count_ingested
from callhistory.schema import NO_TENANT

router = APIRouter(tags=["ingest"])
basic = HTTPBasic(auto_error=False)
api_key_header = APIKeyHeader(name="x-api-key", auto_error=False)


def _presented(api_key: str | None, credentials: HTTPBasicCredentials | None) -> str | None:
    """mod_json_cdr sends `cred` as HTTP Basic: any user name, the API key as password."""
    return api_key or (credentials.password if credentials else None)


async def _ingest_key(
    engine: AsyncEngine, api_key: str | None, credentials: HTTPBasicCredentials | None
) -> KeyRef | None:
    given = _presented(api_key, credentials)
    if not given:
        return None
    return await keys.verify_key_recent(engine, given)


async def _counted_key(request: Request, given: str) -> KeyRef | None:
    """The key's owner, a wrong key counted as a failed attempt (TooManyAttempts while
    this address or this key has too many)."""
    account = attempts.presented_key_account(given)
    return await attempts.checked_key(request, engine_of(request), attempts.INGEST, account, given)


def leg_queue(request: Request) -> LegQueue:
    """The process's queue of posts waiting for a transaction (made on first use)."""
    state = request.app.state
    queue: LegQueue | None = getattr(state, "leg_queue", None)
    if queue is None:
        queue = state.leg_queue = LegQueue(engine_of(request))
    return queue


@router.post(
    "/api/cdr/freeswitch",
    summary="A FreeSWITCH mod_json_cdr leg",
    response_model=Answer[LegStored],
    responses={
        **openapi.FREESWITCH_ERRORS,
        429: attempts.openapi_429("`limit_request_30_minute`: the key is over its rate limit; "),
    },
    openapi_extra={"requestBody": openapi.FREESWITCH_BODY},
)
async def freeswitch_cdr(
    request: Request,
    api_key: Annotated[str | None, Depends(api_key_header)],
    credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)],
    uuid: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    engine = engine_of(request)
    settings = get_settings()
    content_type = request.headers.get("content-type", "")
    query = str(request.url.query)
    try:
        body = await read_limited(request, settings.max_cdr_bytes)
    except ApiError:
        ref = await _ingest_key(engine, api_key, credentials)
        await rejections.record(
            engine,
            ref.tenant_id if ref else NO_TENANT,
            source="freeswitch",
            reason="payload_too_large",
            content_type=content_type,
            query=query,
        )
        raise
    given = _presented(api_key, credentials)
    try:
        ref = await _counted_key(request, given) if given else None
    except attempts.TooManyAttempts:
        await rejections.record(
            engine,
            NO_TENANT,
            source="freeswitch",
            reason=attempts.CODE,
            content_type=content_type,
            query=query,
            body=body,
        )
        raise
    if ref is None:
        reason = "api_key_invalid" if (api_key or credentials) else "api_key_is_required"
        await rejections.record(
            engine,
            NO_TENANT,
            source="freeswitch",
            reason=reason,
            content_type=content_type,
            query=query,
            body=body,
        )
        raise ApiError(401, reason, headers={"WWW-Authenticate": 'Basic realm="callhistory"'})
    if ref.agent_id is not None:  # an agent's key reads its calls; it does not write any
        raise ApiError(403, "agent_key_not_allowed")
    await limit(request, ref)
    try:
        document = decode_body(body, content_type)
        leg = parse_leg(document, uuid)
    except CdrError as exc:
        await rejections.record(
            engine,
            ref.tenant_id,
            source="freeswitch",
            reason=exc.code,
            detail=str(exc),
            content_type=content_type,
            query=query,
            body=body,
        )
        raise ApiError(400, exc.code) from exc
    recordings = RecordingUrls(settings.recording_url_template)
    try:
        outcome = await leg_queue(request).store(
            ref.tenant_id, PostedLeg(document, leg), recordings
        )
    except StoreFailed as exc:
        await rejections.record(
            engine,
            ref.tenant_id,
            source="freeswitch",
            reason=STORE_FAILED,
            detail="the database refused the call",
            content_type=content_type,
            query=query,
            body=body,
        )
        raise ApiError(400, STORE_FAILED) from exc
    count_ingested([outcome])
    return ok({"transaction_id": leg.call_id, "leg_uuid": leg.uuid, "status": outcome})


@router.get(
    "/api/cdr/rejections",
    summary="Recent refused ingest posts and items",
    response_model=Answer[Items[Rejection]],
)
async def list_rejections(
    request: Request,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    async with engine_of(request).connect() as conn:
        found = await rejections.recent(conn, caller.tenant_id, limit)
    return ok({"items": [r.public() for r in found]})
