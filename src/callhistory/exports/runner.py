"""Making an export: the filter, the job row, the file, the signed download link.

The rows come from the dashboard's streaming writers (dashboard.export), which read
calls in keyset batches of a thousand, so memory stays flat whatever the window: the
job writes each chunk to a temporary file as it comes and renames it when complete.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from callhistory import links
from callhistory.calls import params, queries
from callhistory.calls.params import CallFilter
from callhistory.dashboard.export import csv_stream, xlsx_stream
from callhistory.db import new_id, now_ms, writing
from callhistory.envelope import ApiError, validation_error
from callhistory.schema import exports

FORMATS = {"csv": ".csv", "csv.gz": ".csv.gz", "xlsx": ".xlsx"}
DEFAULT_DATE_FORMAT = "%d/%m/%Y %H:%M:%S"
YEAR_9999_MS = 253_402_300_799_999


def call_filter(body: dict[str, Any]) -> CallFilter:
    """The list endpoint's filters from a JSON body, with no 30-day limit on the window."""
    return params.list_filter(
        lambda name: params.body_array(body, name),
        body.get,
        YEAR_9999_MS // params.DAY_MS,
        with_tags=True,
    )


def check_options(body: dict[str, Any], default_zone: str) -> tuple[str, str, str]:
    fmt = body.get("format", "csv")
    if not isinstance(fmt, str) or fmt not in FORMATS:
        raise validation_error("format", "invalid_choice")
    zone = body.get("time_zone") or default_zone
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise validation_error("time_zone", "unknown_time_zone") from exc
    date_format = body.get("date_format") or DEFAULT_DATE_FORMAT
    if not isinstance(date_format, str) or len(date_format) > 64 or "%" not in date_format:
        raise validation_error("date_format", "must_be_a_strftime_format")
    datetime(2000, 1, 1).strftime(date_format)  # a format Python cannot use fails here
    return fmt, str(zone), date_format


def filter_json(f: CallFilter) -> dict[str, Any]:
    return dict(f.__dict__)


async def create(
    conn: AsyncConnection, tenant_id: str, f: CallFilter, fmt: str, zone: str, date_format: str
) -> str:
    export_id = new_id()
    await conn.execute(
        exports.insert().values(
            tenant_id=tenant_id,
            id=export_id,
            status="queued",
            format=fmt,
            time_zone=zone,
            date_format=date_format,
            filter=filter_json(f),
            created_at=now_ms(),
        )
    )
    return export_id


def path_for(export_dir: str, tenant_id: str, export_id: str, fmt: str) -> Path:
    return Path(export_dir) / tenant_id / f"calls-{export_id}{FORMATS[fmt]}"


async def gzipped(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip member
    async for chunk in chunks:
        out = packer.compress(chunk)
        if out:
            yield out
    yield packer.flush()


def stream(
    engine: AsyncEngine,
    tenant_id: str,
    f: CallFilter,
    fmt: str,
    zone: str,
    date_format: str,
    progress: Callable[[int], None],
) -> AsyncIterator[bytes]:
    if fmt == "xlsx":
        return xlsx_stream(engine, tenant_id, f, zone, date_format, progress)
    chunks = csv_stream(engine, tenant_id, f, zone, date_format, progress)
    return gzipped(chunks) if fmt == "csv.gz" else chunks


async def write_file(
    engine: AsyncEngine,
    tenant_id: str,
    f: CallFilter,
    fmt: str,
    zone: str,
    date_format: str,
    target: Path,
    on_rows: Callable[[int], Any] | None = None,
) -> int:
    """Stream the export into `target` (atomically, via a temporary file); its size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    done = 0

    def count(n: int) -> None:
        nonlocal done
        done += n

    reported = 0
    size = 0
    try:
        # Plain file writes: a chunk is at most a batch of rows, and the local disk is fast.
        with partial.open("wb") as out:
            async for chunk in stream(engine, tenant_id, f, fmt, zone, date_format, count):
                out.write(chunk)
                size += len(chunk)
                if on_rows is not None and done != reported:
                    reported = done
                    result = on_rows(done)
                    if hasattr(result, "__await__"):
                        await result
    except BaseException:
        partial.unlink(missing_ok=True)  # a failed export leaves no half file behind
        raise
    os.replace(partial, target)
    return size


async def claim(engine: AsyncEngine, tenant_id: str, export_id: str) -> bool:
    """queued -> running, once: whichever process gets here first runs it."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(exports)
            .where(
                exports.c.tenant_id == tenant_id,
                exports.c.id == export_id,
                exports.c.status == "queued",
            )
            .values(status="running", started_at=now_ms())
        )
    return bool(result.rowcount)


async def _set(engine: AsyncEngine, tenant_id: str, export_id: str, **values: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(exports)
            .where(exports.c.tenant_id == tenant_id, exports.c.id == export_id)
            .values(**values)
        )


async def run(engine: AsyncEngine, tenant_id: str, export_id: str, export_dir: str) -> None:
    """Run a queued export to its end (done or failed); nothing if already taken."""
    if not await claim(engine, tenant_id, export_id):
        return
    async with engine.connect() as conn:
        job = (
            await conn.execute(
                select(exports).where(exports.c.tenant_id == tenant_id, exports.c.id == export_id)
            )
        ).one()
        f = CallFilter(**job.filter)
        total = await queries.count(conn, tenant_id, f)
    await _set(engine, tenant_id, export_id, rows_total=total)
    target = path_for(export_dir, tenant_id, export_id, job.format)

    async def progress(rows: int) -> None:
        await _set(engine, tenant_id, export_id, rows_done=rows)

    try:
        size = await write_file(
            engine, tenant_id, f, job.format, job.time_zone, job.date_format, target, progress
        )
    except Exception as exc:  # the job records why; the worker goes on with the next
        await _set(
            engine,
            tenant_id,
            export_id,
            status="failed",
            error=type(exc).__name__,
            finished_at=now_ms(),
        )
        raise
    await _set(
        engine,
        tenant_id,
        export_id,
        status="done",
        rows_done=total,
        size_bytes=size,
        path=str(target),
        finished_at=now_ms(),
    )


async def queued(engine: AsyncEngine, limit: int = 10) -> list[tuple[str, str]]:
    """Queued exports (any tenant), for the worker; the API also starts them at once."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(exports.c.tenant_id, exports.c.id)
            .where(exports.c.status == "queued")
            .order_by(exports.c.created_at)
            .limit(limit)
        )
        return [(r.tenant_id, r.id) for r in rows]


def link_signature(secret: str, tenant_id: str, export_id: str, expires: int) -> str:
    return links.signature(secret, "export", tenant_id, export_id, expires)


def link_until(secret: str, tenant_id: str, export_id: str, expires: str, sig: str) -> int:
    """Until when (epoch seconds) a link this server signed is valid; 403 for any other."""
    until = links.valid_until(secret, "export", tenant_id, export_id, expires, sig)
    if until is None:
        raise ApiError(403, "download_link_invalid")
    return until


def check_fresh(until: int) -> None:
    if until < now_ms() // 1000:
        raise ApiError(410, "download_link_expired")


def check_link(secret: str, tenant_id: str, export_id: str, expires: str, sig: str) -> None:
    check_fresh(link_until(secret, tenant_id, export_id, expires, sig))


async def extend_link(engine: AsyncEngine, tenant_id: str, export_id: str, until_ms: int) -> bool:
    """Record that a link valid until `until_ms` is handed out, so the file is kept that
    long (exports.pruning); False if the export is no longer done (its file was removed)."""
    e = exports.c
    async with writing(engine) as conn:
        result = await conn.execute(
            update(exports)
            .where(e.tenant_id == tenant_id, e.id == export_id, e.status == "done")
            .values(
                link_expires_at=case(
                    (e.link_expires_at > until_ms, e.link_expires_at), else_=until_ms
                )
            )
        )
    return bool(result.rowcount)
