"""`freeswitch-json`: a directory of mod_json_cdr files (`log-dir` or `err-log-dir`),
one leg a file, resumed by the files already done."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from callhistory.db import writing
from callhistory.ingest.backfill.job import ImportFormat, Job, Summary
from callhistory.ingest.enrich import RecordingUrls
from callhistory.ingest.formats.freeswitch import CdrError, Leg, decode_body, parse_leg
from callhistory.ingest.pipeline import PostedLeg, ingest_freeswitch_leg, store_legs
from callhistory.ingest.rejections import NotReplayable, Rejection
from callhistory.ingest.store import Outcome
from callhistory.ops import count_ingested

log = logging.getLogger("callhistory")

FILE_CHUNK = 200  # mod_json_cdr files per transaction


def uuid_hint(path: Path) -> str | None:
    name = path.name
    for suffix in (".cdr.json", ".json"):
        name = name.removesuffix(suffix)
    for prefix in ("a_", "b_"):
        name = name.removeprefix(prefix)
    return name or None


async def read(job: Job) -> None:
    summary = job.summary = Summary("files")
    root = job.source
    files = sorted(
        (p for p in root.rglob("*.json") if p.is_file()), key=lambda p: str(p.relative_to(root))
    )
    done = job.state.files
    if job.state.resumed and done:
        summary.resumed_at = len(done)
    todo = [p for p in files if str(p.relative_to(root)) not in done]
    total = len(files)
    job.report(total - len(todo), total)
    for first in range(0, len(todo), FILE_CHUNK):
        chunk = todo[first : first + FILE_CHUNK]
        parsed: list[tuple[str, dict[str, Any], Any]] = []
        for path in chunk:
            relative = str(path.relative_to(root))
            summary.read += 1
            query = urlencode({"format": ImportFormat.freeswitch_json.value, "file": relative})
            try:
                body = path.read_bytes()
            except OSError as exc:
                await job.reject("file_unreadable", f"{relative}: {exc}", b"", "", query)
                continue
            try:
                document = decode_body(body, "application/json")
                leg = parse_leg(document, uuid_hint(path))
            except CdrError as exc:
                await job.reject(exc.code, f"{relative}: {exc}", body, "application/json", query)
                continue
            parsed.append((relative, document, leg))
        refused: list[str] = []
        async with writing(job.engine) as conn:
            outcomes = await _store_files(conn, job, parsed)
        for (relative, _, _), outcome in zip(parsed, outcomes, strict=True):
            if outcome is None:
                refused.append(relative)
            else:
                summary.outcome(outcome)
        count_ingested(outcomes)
        for relative in refused:
            query = urlencode({"format": ImportFormat.freeswitch_json.value, "file": relative})
            await job.reject(
                "store_failed",
                f"{relative}: the database refused the leg",
                (root / relative).read_bytes(),
                "application/json",
                query,
            )
        names = [str(p.relative_to(root)) for p in chunk]
        done.update(names)
        job.state.checkpoint(files=names)
        job.report(total - len(todo) + first + len(chunk), total)
        await job.chunk_done()


async def _store_files(
    conn: AsyncConnection, job: Job, parsed: list[tuple[str, dict[str, Any], Leg]]
) -> list[Outcome | None]:
    """The files' legs together (as concurrent posts are); should the database refuse
    that, one by one, so a bad file costs only itself."""
    posted = [PostedLeg(document, leg) for _, document, leg in parsed]
    try:
        async with conn.begin_nested():
            return await store_legs(conn, job.tenant.id, posted, job.recordings)
    except DBAPIError:
        log.info("files stored one by one after a refused chunk", exc_info=True)
    outcomes: list[Outcome | None] = []
    for item in posted:
        try:
            async with conn.begin_nested():
                outcomes += await store_legs(conn, job.tenant.id, [item], job.recordings)
        except DBAPIError:
            outcomes.append(None)
    return outcomes


async def replay(
    engine: AsyncEngine,
    tenant_id: str,
    fields: dict[str, str],
    rejection: Rejection,
    recordings: RecordingUrls,
) -> None:
    try:
        document = decode_body(rejection.body.encode(), "application/json")
        leg = parse_leg(document, uuid_hint(Path(fields.get("file", ""))))
    except CdrError as exc:
        raise NotReplayable(exc.code) from exc
    async with writing(engine) as conn:
        await ingest_freeswitch_leg(conn, tenant_id, document, leg, recordings)
