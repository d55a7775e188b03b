"""The formats `callhistory import` reads, each into the store in chunks (see import_job)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.db import among, now_ms, writing
from callhistory.ingest import lookups
from callhistory.ingest.asterisk import AsteriskError, CdrRow, CsvReader, RawRecord, read_records
from callhistory.ingest.asterisk import merge_rows as merge_asterisk
from callhistory.ingest.batch import BatchReport, ingest_items
from callhistory.ingest.bulk import Entry, store_calls
from callhistory.ingest.enrich import RecordingUrls, enrich
from callhistory.ingest.freeswitch import CdrError, Leg, decode_body, parse_leg
from callhistory.ingest.import_job import (
    SOURCE,
    ImportFormat,
    ImportProblem,
    Job,
    Pipeline,
    Summary,
    start_offset,
)
from callhistory.ingest.items import transaction_id_of
from callhistory.ingest.pipeline import PostedLeg, lock_calls, store_legs
from callhistory.ingest.store import Outcome
from callhistory.ops import count_ingested
from callhistory.schema import cdr_legs

log = logging.getLogger("callhistory")

CHUNK = 1000  # lines or rows per transaction, as a batch
FILE_CHUNK = 200  # mod_json_cdr files per transaction
ASTERISK = "asterisk"


# ---- jsonl -------------------------------------------------------------------------------


async def read_jsonl(job: Job) -> None:
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


# ---- asterisk-csv ----------------------------------------------------------------------


def _asterisk_query(job: Job, reader: CsvReader) -> str:
    fields = {"format": ImportFormat.asterisk_csv.value, "file": job.name, "tz": job.zone.key}
    if reader.header:
        fields["columns"] = ",".join(reader.header)
    return urlencode(fields)


async def read_asterisk(job: Job) -> None:
    summary = job.summary = Summary("rows")
    reader = CsvReader(job.zone)
    with job.source.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        first = next(read_records(handle), None)
        if first is None:
            job.state.checkpoint(offset=0, line=0)
            return
        try:
            has_header = reader.detect(first)
        except AsteriskError as exc:
            raise ImportProblem(f"{job.source}: {exc}") from exc
        body_start = first.end if has_header else 0
        offset = start_offset(job, size, body_start)
        line = job.state.line if offset != body_start else (first.line if has_header else 0)
        handle.seek(offset)
        query = _asterisk_query(job, reader)
        rows: list[CdrRow] = []
        for record in _complete(read_records(handle, line + 1), summary):
            summary.read += 1
            try:
                rows.append(reader.row(record))
            except AsteriskError as exc:
                await _reject_row(job, record, exc, query)
            offset, line = record.end, record.line
            if len(rows) >= CHUNK:
                await _store_rows(job, rows)
                rows = []
                job.state.checkpoint(offset=offset, line=line)
                job.report(offset, size)
                await job.chunk_done()
        await _store_rows(job, rows)
        job.state.checkpoint(offset=offset, line=line)
        job.report(offset, size)


def _complete(records: Iterator[RawRecord], summary: Summary) -> Iterator[RawRecord]:
    """The records, but not a last one with no newline that does not read as a row:
    Asterisk may be writing it right now; the next run reads it whole."""
    for record in records:
        if not record.terminated and len(record.fields) < 16:
            summary.note = f"line {record.line} is incomplete (still being written?): left"
            return
        yield record


async def _reject_row(job: Job, record: RawRecord, exc: AsteriskError, query: str) -> None:
    await job.reject(exc.code, f"{job.name}:{record.line}: {exc}", record.text, "text/csv", query)


async def store_asterisk_rows(
    conn: AsyncConnection,
    tenant_id: str,
    rows: Sequence[CdrRow],
    recordings: RecordingUrls,
) -> list[tuple[str, Outcome | None]]:
    """Keep the rows as legs (a row seen before is kept once), then recompute each of
    their calls from every row kept so far: a call split across chunks, files or runs
    comes out whole."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    received = now_ms()
    legs = {
        (row.call_key, row.fingerprint): {
            "tenant_id": tenant_id,
            "call_id": row.call_key,
            "leg_uuid": row.fingerprint,
            "received_at": received,
            "source": ASTERISK,
            "document": orjson.dumps(row.document()).decode(),
        }
        for row in rows
    }
    call_ids = list(dict.fromkeys(row.call_key for row in rows))
    await lock_calls(conn, tenant_id, call_ids)  # another import of the same calls waits
    await conn.execute(dialect.insert(cdr_legs).on_conflict_do_nothing(), list(legs.values()))
    by_call: dict[str, list[CdrRow]] = {call_id: [] for call_id in call_ids}
    for first in range(0, len(call_ids), CHUNK):
        found = await conn.execute(
            select(cdr_legs.c.call_id, cdr_legs.c.document).where(
                cdr_legs.c.tenant_id == tenant_id,
                cdr_legs.c.source == ASTERISK,
                among(cdr_legs.c.call_id, call_ids[first : first + CHUNK]),
            )
        )
        for call_id, document in found:
            by_call[call_id].append(CdrRow.from_document(orjson.loads(document)))
    merged = [merge_asterisk(kept) for kept in by_call.values() if kept]
    numbers = [n for call in merged for n in (call.caller_number, call.destination_number)]
    cache = await lookups.load(conn, tenant_id, numbers)
    entries = [
        Entry(await enrich(conn, tenant_id, call, recordings, pbx_type=ASTERISK, cache=cache))
        for call in merged
    ]
    outcomes = await store_calls(conn, tenant_id, entries)
    return [(e.transaction_id, o) for e, o in zip(entries, outcomes, strict=True)]


async def _store_rows(job: Job, rows: list[CdrRow]) -> None:
    if not rows:
        return
    async with writing(job.engine) as conn:
        outcomes = await store_asterisk_rows(conn, job.tenant.id, rows, job.recordings)
    for _, outcome in outcomes:
        job.summary.outcome(outcome)
    count_ingested(outcome for _, outcome in outcomes)


# ---- freeswitch-json -------------------------------------------------------------------


def uuid_hint(path: Path) -> str | None:
    name = path.name
    for suffix in (".cdr.json", ".json"):
        name = name.removesuffix(suffix)
    for prefix in ("a_", "b_"):
        name = name.removeprefix(prefix)
    return name or None


async def read_freeswitch(job: Job) -> None:
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
