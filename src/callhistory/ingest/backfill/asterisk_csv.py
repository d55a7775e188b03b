"""`asterisk-csv`: cdr_csv's Master.csv (see ingest.formats.asterisk), read from the
last checkpoint's byte offset, so a file Asterisk still appends to is read for its new
rows only."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from callhistory.db import among, now_ms, writing
from callhistory.ingest import lookups
from callhistory.ingest.backfill.job import ImportFormat, ImportProblem, Job, Summary, start_offset
from callhistory.ingest.bulk import Entry, store_calls
from callhistory.ingest.enrich import RecordingUrls, enrich
from callhistory.ingest.formats.asterisk import (
    AsteriskError,
    CdrRow,
    CsvReader,
    RawRecord,
    read_records,
)
from callhistory.ingest.formats.asterisk_merge import merge_rows as merge_asterisk
from callhistory.ingest.pipeline import lock_calls
from callhistory.ingest.rejections import NotReplayable, Rejection
from callhistory.ingest.store import Outcome
from callhistory.ops import count_ingested
from callhistory.schema import cdr_legs

CHUNK = 1000  # rows per transaction, as a batch
ASTERISK = "asterisk"


def _asterisk_query(job: Job, reader: CsvReader) -> str:
    fields = {"format": ImportFormat.asterisk_csv.value, "file": job.name, "tz": job.zone.key}
    if reader.header:
        fields["columns"] = ",".join(reader.header)
    return urlencode(fields)


async def read(job: Job) -> None:
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
    cache = await lookups.load(conn, tenant_id, merged)
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


async def replay(
    engine: AsyncEngine,
    tenant_id: str,
    fields: dict[str, str],
    rejection: Rejection,
    recordings: RecordingUrls,
) -> None:
    reader = CsvReader(ZoneInfo(fields.get("tz", "UTC")))
    if fields.get("columns"):
        reader.header = tuple(fields["columns"].split(","))
    data = rejection.body.encode()
    records = list(read_records(io.BytesIO(data if data.endswith(b"\n") else data + b"\n")))
    if len(records) != 1:
        raise NotReplayable("wrong_column_count")
    try:
        row = reader.row(records[0])
    except AsteriskError as exc:
        raise NotReplayable(exc.code) from exc
    async with writing(engine) as conn:
        await store_asterisk_rows(conn, tenant_id, [row], recordings)
