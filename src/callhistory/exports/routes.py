"""`POST /api/exports`, `GET /api/exports/{id}` and the signed download link."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.answers import Answer
from callhistory.auth.keys import KeyRef
from callhistory.auth.routes import ScopedCaller, engine_of
from callhistory.calls import openapi
from callhistory.config import get_settings
from callhistory.db import now_ms
from callhistory.envelope import ApiError, json_object, ok
from callhistory.exports import runner
from callhistory.exports.answers import Export
from callhistory.schema import exports, tenants

router = APIRouter(tags=["exports"])
log = logging.getLogger("callhistory")

_GONE: openapi.Responses = {
    410: {
        "description": "`download_link_expired`: ask the export for a fresh link; "
        "`export_expired`: its file was removed once every link had expired (run it again)."
    }
}

_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "csv.gz": "application/gzip",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


async def _run_logged(engine: AsyncEngine, tenant_id: str, export_id: str) -> None:
    try:
        await runner.run(engine, tenant_id, export_id, get_settings().export_dir)
    except Exception:
        log.exception("export %s failed", export_id)


def start_in_background(request: Request, tenant_id: str, export_id: str) -> None:
    """Start the export in this process now; the worker picks it up if this one dies
    before claiming it. Tasks are kept referenced so they are not collected mid-way."""
    tasks: set[asyncio.Task[None]] = request.app.state.__dict__.setdefault("export_tasks", set())
    task = asyncio.create_task(_run_logged(engine_of(request), tenant_id, export_id))
    tasks.add(task)
    task.add_done_callback(tasks.discard)


@router.post(
    "/api/exports",
    summary="Start a background export of the filtered calls",
    status_code=202,
    response_model=Answer[Export],
    openapi_extra={"requestBody": openapi.EXPORT_BODY},
)
async def create_export(request: Request, caller: ScopedCaller) -> Any:
    body = await json_object(request)
    f = replace(runner.call_filter(body), agent_scope=caller.scope)
    async with engine_of(request).begin() as conn:
        zone = await conn.scalar(
            select(tenants.c.time_zone).where(tenants.c.id == caller.tenant_id)
        )
        fmt, zone, date_format = runner.check_options(body, str(zone))
        export_id = await runner.create(conn, caller.tenant_id, f, fmt, zone, date_format)
    start_in_background(request, caller.tenant_id, export_id)
    return ok(await _shown(request, caller, export_id), status=202)


async def _job(engine: AsyncEngine, tenant_id: str, export_id: str) -> Any:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                select(exports).where(exports.c.tenant_id == tenant_id, exports.c.id == export_id)
            )
        ).first()


async def _shown(request: Request, caller: KeyRef, export_id: str) -> dict[str, Any]:
    engine = engine_of(request)
    job = await _job(engine, caller.tenant_id, export_id)
    # an agent's key sees only the exports it made (of its own calls)
    if job is None or (caller.scope is not None and job.filter.get("agent_scope") != caller.scope):
        raise ApiError(404, "export_not_found")
    settings = get_settings()
    expires: int | None = None
    if job.status == "done":
        expires = now_ms() // 1000 + settings.export_link_ttl_seconds
        # The file is kept until every link handed out has expired (exports.pruning).
        if not await runner.extend_link(engine, caller.tenant_id, job.id, expires * 1000):
            job = await _job(engine, caller.tenant_id, export_id)  # just expired
            expires = None
    shown: dict[str, Any] = {
        "id": job.id,
        "status": job.status,
        "format": job.format,
        "time_zone": job.time_zone,
        "date_format": job.date_format,
        "rows_total": job.rows_total,
        "rows_done": job.rows_done,
        "size_bytes": job.size_bytes,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "error": job.error,
        "download_url": None,
        "download_expires_at": None,
    }
    if expires is not None:
        sig = runner.link_signature(settings.secret_key, caller.tenant_id, job.id, expires)
        shown["download_url"] = str(
            request.url_for("download_export", export_id=job.id).include_query_params(
                tenant=caller.tenant_id, expires=expires, sig=sig
            )
        )
        shown["download_expires_at"] = expires * 1000
    return shown


@router.get(
    "/api/exports/{export_id}",
    summary="An export's progress and download link",
    response_model=Answer[Export],
    responses=openapi.EXPORT_NOT_FOUND,
)
async def export_status(export_id: str, request: Request, caller: ScopedCaller) -> Any:
    return ok(await _shown(request, caller, export_id))


@router.get(
    "/api/exports/{export_id}/download",
    name="download_export",
    summary="The export's file (a signed, expiring link: no credentials needed)",
    response_class=FileResponse,
    responses={**openapi.DOWNLOAD_ANSWERS, **_GONE},
    openapi_extra={"parameters": openapi.DOWNLOAD_PARAMETERS},
)
async def download_export(export_id: str, request: Request) -> Any:
    q = request.query_params
    tenant_id = q.get("tenant", "")
    until = runner.link_until(
        get_settings().secret_key, tenant_id, export_id, q.get("expires", ""), q.get("sig", "")
    )
    # The signature binds the link to this tenant's export: its state may be told.
    job = await _job(engine_of(request), tenant_id, export_id)
    if job is not None and (
        job.status == "expired"
        or (job.status == "done" and not await asyncio.to_thread(Path(job.path or "").is_file))
    ):
        raise ApiError(410, "export_expired")
    if job is None or job.status != "done" or not job.path:
        raise ApiError(404, "export_not_found")
    runner.check_fresh(until)
    name = f"calls-{job.id}{runner.FORMATS[job.format]}"
    return FileResponse(job.path, media_type=_MEDIA[job.format], filename=name)
