"""`jsonl`: one batch item per line, as `POST /api/cdr` takes them."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.ingest.backfill.job import (
    SOURCE,
    ImportFormat,
    Job,
    Pipeline,
    Summary,
    start_offset,
)
from callhistory.ingest.batch import BatchReport, ingest_items, store_checked
from callhistory.ingest.enrich import RecordingUrls
from callhistory.ingest.formats import items
from callhistory.ingest.formats.items import transaction_id_of
from callhistory.ingest.rejections import NotReplayable, Rejection

CHUNK = 1000  # lines per transaction, as a batch


async def read(job: Job) -> None:
    summary = job.summary = Summary("lines")
    query = urlencode({"format": ImportFormat.jsonl.value, "file": job.name})
    pipeline = Pipeline()
    with job.source.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        offset = start_offset(job, size, 0)
        handle.seek(offset)
        line = job.state.line
        items: list[Any] = []
        where: list[str] = []

        async def flush() -> None:
            chunk, places, reached, at_line = list(items), list(where), offset, line
            items.clear()
            where.clear()

            async def after(report: BatchReport) -> None:
                summary.batch(report)
                job.state.checkpoint(offset=reached, line=at_line)
                job.report(reached, size)
                await job.chunk_done()

            work = ingest_items(
                job.engine,
                job.tenant.id,
                chunk,
                source=SOURCE,
                recordings=job.recordings,
                where=places,
                query=query,
            )
            # as the store keys them: a number sent as 123 and as "123" is one call
            keys = {k for k in map(transaction_id_of, chunk) if k is not None}
            await pipeline.submit(keys, work, after)

        while raw := handle.readline():
            if not raw.endswith(b"\n"):
                try:
                    orjson.loads(raw)
                except orjson.JSONDecodeError:
                    summary.note = f"line {line + 1} is incomplete (still being written?): left"
                    break
            line += 1
            offset += len(raw)
            if not raw.strip():
                continue
            summary.read += 1
            try:
                item = orjson.loads(raw)
            except orjson.JSONDecodeError:
                await job.reject(
                    "invalid_json",
                    f"{job.name}:{line}: not JSON",
                    raw.rstrip(b"\r\n"),
                    "application/x-ndjson",
                    query,
                )
                continue
            items.append(item)
            where.append(f"{job.name}:{line}")
            if len(items) >= CHUNK:
                await flush()
        await flush()
        await pipeline.drain()


async def replay(
    engine: AsyncEngine,
    tenant_id: str,
    fields: dict[str, str],
    rejection: Rejection,
    recordings: RecordingUrls,
) -> None:
    try:
        raw = orjson.loads(rejection.body)
    except orjson.JSONDecodeError as exc:
        raise NotReplayable("invalid_json") from exc
    try:
        checked = items.check(raw)
    except items.InvalidItem as exc:
        raise NotReplayable(exc.code) from exc
    (outcome,) = await store_checked(engine, tenant_id, [checked], recordings)
    if outcome is None:
        raise NotReplayable("store_failed")
