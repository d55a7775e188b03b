"""`GET /api/call_transaction/recording/{id}` (with credentials), its signed link, and
`GET /api/recordings/{id}` (the link: no credentials, for `<audio src>`)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import Response

from callhistory import links
from callhistory.answers import Answer
from callhistory.auth.routes import ScopedCaller, engine_of
from callhistory.calls import queries
from callhistory.calls.values import parse_bool
from callhistory.config import Settings, get_settings
from callhistory.db import now_ms
from callhistory.envelope import ApiError, ok
from callhistory.recordings import openapi, stream
from callhistory.recordings.answers import RecordingLink
from callhistory.recordings.sources import Located, locate, media_type
from callhistory.schema import calls

router = APIRouter(tags=["recordings"])
PURPOSE = "recording"


async def stored_path(
    engine: AsyncEngine, tenant_id: str, transaction_id: str, scope: str | None
) -> str | None:
    """The call's recording as stored (the PBX's path, else its link); 404 for no call
    (or one an agent's key may not see)."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(calls.c.recording_path, calls.c.recording_file).where(
                    calls.c.tenant_id == tenant_id,
                    calls.c.transaction_id == transaction_id,
                    calls.c.is_deleted.is_(False),
                    *queries.on_call(tenant_id, scope),
                )
            )
        ).first()
    if row is None:
        raise ApiError(404, "transaction_not_found")
    return row.recording_path or row.recording_file or None


async def located(
    request: Request, tenant_id: str, transaction_id: str, scope: str | None = None
) -> Located:
    stored = await stored_path(engine_of(request), tenant_id, transaction_id, scope)
    found = await asyncio.to_thread(locate, get_settings(), stored)
    if found is None:
        raise ApiError(404, "recording_not_found")
    return found


async def _play(
    request: Request, tenant_id: str, transaction_id: str, scope: str | None
) -> Response:
    found = await located(request, tenant_id, transaction_id, scope)
    download = parse_bool("download", request.query_params.get("download")) or False
    return await stream.answer(found, request.headers.get("range"), download)


def signed_url(
    request: Request, settings: Settings, tenant_id: str, transaction_id: str
) -> tuple[str, int]:
    expires = now_ms() // 1000 + settings.recording_link_seconds
    sig = links.signature(settings.secret_key, PURPOSE, tenant_id, transaction_id, expires)
    url = request.url_for("signed_recording", transaction_id=transaction_id)
    return str(url.include_query_params(tenant=tenant_id, expires=expires, sig=sig)), expires


@router.get(
    "/api/call_transaction/recording/{transaction_id}",
    summary="The call's recording (Range requests answered, so a player can seek)",
    response_class=Response,
    responses=openapi.PLAY,
    openapi_extra={"parameters": openapi.DOWNLOAD},
)
async def recording(transaction_id: str, request: Request, caller: ScopedCaller) -> Response:
    return await _play(request, caller.tenant_id, transaction_id, caller.scope)


@router.get(
    "/api/call_transaction/recording/{transaction_id}/link",
    summary="A short-lived link to the recording that needs no credentials",
    response_model=Answer[RecordingLink],
    responses=openapi.NOT_FOUND,
)
async def recording_link(transaction_id: str, request: Request, caller: ScopedCaller) -> Any:
    found = await located(request, caller.tenant_id, transaction_id, caller.scope)
    settings = get_settings()
    url, expires = signed_url(request, settings, caller.tenant_id, transaction_id)
    name = getattr(found, "path", None) or getattr(found, "url", "")
    return ok({"url": url, "expires_at": expires * 1000, "media_type": media_type(str(name))})


@router.get(
    "/api/recordings/{transaction_id}",
    name="signed_recording",
    summary="The recording through a signed link (no credentials)",
    response_class=Response,
    responses=openapi.SIGNED_PLAY,
    openapi_extra={"parameters": openapi.SIGNED},
)
async def signed_recording(transaction_id: str, request: Request) -> Response:
    q = request.query_params
    tenant_id = q.get("tenant", "")
    until = links.valid_until(
        get_settings().secret_key,
        PURPOSE,
        tenant_id,
        transaction_id,
        q.get("expires", ""),
        q.get("sig", ""),
    )
    if until is None:
        raise ApiError(403, "recording_link_invalid")
    if until < now_ms() // 1000:
        raise ApiError(410, "recording_link_expired")
    return await _play(request, tenant_id, transaction_id, None)  # signed for this call
