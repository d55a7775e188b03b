"""`callhistory import`: back-filling calls from files, resumably.

Formats: `jsonl` (one batch item per line, as `POST /api/cdr` takes them),
`asterisk-csv` (cdr_csv's Master.csv, see ingest.asterisk) and `freeswitch-json` (a
directory of mod_json_cdr files, `log-dir` or `err-log-dir`).

Work goes in chunks, each one transaction; after each, a checkpoint is appended to the
state file (the byte offset reached, or the files done). An interrupted import run again
with the same state file continues after the last checkpoint; a chunk that was stored
but not checkpointed is read again and changes nothing (every store is idempotent).
Because the offset is kept, running it again on a file that has grown since (Master.csv
is appended to) reads only the new rows.
"""

from __future__ import annotations

import io
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from callhistory.auth.keys import Tenant
from callhistory.config import get_settings
from callhistory.db import now_ms, writing
from callhistory.ingest import items, lookups, rejections
from callhistory.ingest.asterisk import AsteriskError, CdrRow, CsvReader, RawRecord, read_records
from callhistory.ingest.asterisk import merge_rows as merge_asterisk
from callhistory.ingest.batch import BatchReport, ingest_items, store_checked
from callhistory.ingest.bulk import Entry, store_calls
from callhistory.ingest.enrich import RecordingUrls, enrich
from callhistory.ingest.freeswitch import CdrError, Leg, decode_body, parse_leg
from callhistory.ingest.pipeline import PostedLeg, ingest_freeswitch_leg, lock_calls, store_legs
from callhistory.ingest.rejections import Rejection
from callhistory.ingest.store import Outcome
from callhistory.ops import INGESTED
from callhistory.schema import cdr_legs

log = logging.getLogger("callhistory")

CHUNK = 1000  # lines or rows per transaction, as a batch
FILE_CHUNK = 200  # mod_json_cdr files per transaction
SOURCE = "import"
ASTERISK = "asterisk"
STATE_SUFFIX = ".import-state"

Progress = Callable[[int, int], None]  # (done, total) in bytes, or in files


class ImportFormat(StrEnum):
    jsonl = "jsonl"
    asterisk_csv = "asterisk-csv"
    freeswitch_json = "freeswitch-json"


class ImportProblem(Exception):
    """The import as a whole cannot run (a wrong path, another import's state file)."""


@dataclass
class Summary:
    unit: str  # what `read` counts: lines, rows, files
    read: int = 0
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    resumed_at: int | None = None  # the offset or file count the run continued from
    note: str = ""
    seconds: float = 0.0

    def outcome(self, outcome: Outcome | None) -> None:
        if outcome is None:
            self.reject("store_failed")
        else:
            setattr(self, outcome, getattr(self, outcome) + 1)

    def reject(self, code: str) -> None:
        self.rejected += 1
        self.reasons[code] += 1

    def batch(self, report: BatchReport) -> None:
        for result in report.results:
            if result.status == "rejected":
                self.reject(result.errors[0]["code"] if result.errors else "rejected")
            else:
                self.outcome(cast(Outcome, result.status))

    def public(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "read": self.read,
            "stored": self.stored,
            "updated": self.updated,
            "duplicates": self.unchanged,
            "rejected": self.rejected,
            "reasons": dict(self.reasons.most_common()),
            "resumed_at": self.resumed_at,
            "note": self.note,
            "seconds": round(self.seconds, 3),
        }


# ---- the state file: append-only JSON lines --------------------------------------------


@dataclass
class State:
    """Where an import stands. The first line names the import; each later line is a
    checkpoint. A torn last line (a crash mid-write) is ignored."""

    path: Path
    header: dict[str, str]
    offset: int = 0
    line: int = 0
    files: set[str] = field(default_factory=set)
    resumed: bool = False

    @classmethod
    def open(cls, path: Path, header: dict[str, str], restart: bool) -> State:
        state = cls(path, header)
        if restart or not path.exists():
            state._write([header], "wb")
            return state
        lines = path.read_bytes().splitlines()
        entries = []
        for raw in lines:
            try:
                entries.append(orjson.loads(raw))
            except orjson.JSONDecodeError:
                continue
        if not entries or not isinstance(entries[0], dict):
            raise ImportProblem(f"{path} is not an import state file; remove it or use --state")
        if {k: entries[0].get(k) for k in header} != header:
            raise ImportProblem(
                f"{path} belongs to another import ({entries[0].get('format')} of "
                f"{entries[0].get('input')} for tenant {entries[0].get('tenant_id')}); "
                "remove it, pass --restart, or use --state"
            )
        for entry in entries[1:]:
            if not isinstance(entry, dict):
                continue
            state.offset = int(entry.get("offset", state.offset))
            state.line = int(entry.get("line", state.line))
            state.files.update(entry.get("files", []))
        state.resumed = len(entries) > 1
        return state

    def _write(self, entries: Sequence[dict[str, Any]], mode: str) -> None:
        with self.path.open(mode) as handle:
            for entry in entries:
                handle.write(orjson.dumps(entry) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())

    def checkpoint(self, **entry: Any) -> None:
        self._write([{**entry, "at": now_ms()}], "ab")


def default_state_path(source: Path) -> Path:
    resolved = source.resolve()
    return resolved.with_name(resolved.name + STATE_SUFFIX)


# ---- the job ---------------------------------------------------------------------------


@dataclass
class Job:
    engine: AsyncEngine
    tenant: Tenant
    fmt: ImportFormat
    source: Path
    state: State
    recordings: RecordingUrls
    zone: ZoneInfo
    progress: Progress | None = None
    summary: Summary = field(default_factory=lambda: Summary("lines"))
    analyzed: bool = False

    def report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    @property
    def name(self) -> str:
        return self.source.name

    async def reject(
        self, code: str, detail: str, body: bytes | str, content_type: str, query: str
    ) -> None:
        self.summary.reject(code)
        await rejections.record(
            self.engine,
            self.tenant.id,
            source=SOURCE,
            reason=code,
            detail=detail,
            content_type=content_type,
            query=query,
            body=body,
        )

    async def chunk_done(self) -> None:
        """After the first chunk on a never-analysed PostgreSQL table, ANALYZE: until
        autovacuum gets to it, its plans (foreign-key checks included) scan."""
        if self.analyzed or self.engine.dialect.name != "postgresql":
            return
        self.analyzed = True
        try:
            async with self.engine.connect() as conn:
                fresh = await conn.scalar(
                    text(
                        "SELECT last_analyze IS NULL AND last_autoanalyze IS NULL "
                        "FROM pg_stat_user_tables WHERE relname = 'calls'"
                    )
                )
                if fresh:
                    await conn.execute(text("ANALYZE calls, call_users, call_tags, cdr_legs"))
                    await conn.commit()
        except DBAPIError:  # not the owner: autovacuum will do it
            pass


def open_state(
    tenant: Tenant, fmt: ImportFormat, source: Path, state_path: Path | None, restart: bool
) -> State:
    """The import's state file, checked against the source (before any work)."""
    if fmt is ImportFormat.freeswitch_json:
        if not source.is_dir():
            raise ImportProblem(f"{source} is not a directory (freeswitch-json reads a directory)")
    elif not source.is_file():
        raise ImportProblem(f"{source} is not a file")
    header = {"format": fmt.value, "input": str(source.resolve()), "tenant_id": tenant.id}
    return State.open(state_path or default_state_path(source), header, restart)


async def run_import(
    engine: AsyncEngine,
    tenant: Tenant,
    fmt: ImportFormat,
    source: Path,
    *,
    state_path: Path | None = None,
    restart: bool = False,
    zone: ZoneInfo | None = None,
    recordings: RecordingUrls | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Import `source` for `tenant`, continuing from the state file's last checkpoint."""
    state = open_state(tenant, fmt, source, state_path, restart)
    job = Job(
        engine,
        tenant,
        fmt,
        source,
        state,
        recordings or RecordingUrls(),
        zone or ZoneInfo(tenant.time_zone),
        progress,
    )
    began = time.perf_counter()
    if fmt is ImportFormat.jsonl:
        await _jsonl(job)
    elif fmt is ImportFormat.asterisk_csv:
        await _asterisk(job)
    else:
        await _freeswitch(job)
    summary = job.summary
    summary.seconds = time.perf_counter() - began
    if state.resumed and not summary.read and not summary.note:
        summary.note = "nothing new since the last run"
    return summary


def _start_offset(job: Job, size: int, first: int) -> int:
    """Where to read from: the checkpoint, unless the file is now shorter (replaced)."""
    offset = job.state.offset
    if offset > size:
        job.summary.note = "the file is shorter than at the checkpoint: read from the start"
        job.state.line = 0
        return first
    if job.state.resumed and offset > first:
        job.summary.resumed_at = offset
        return offset
    job.state.line = 0
    return first


# ---- jsonl -------------------------------------------------------------------------------


async def _jsonl(job: Job) -> None:
    summary = job.summary = Summary("lines")
    query = urlencode({"format": ImportFormat.jsonl.value, "file": job.name})
    with job.source.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        offset = _start_offset(job, size, 0)
        handle.seek(offset)
        line = job.state.line
        items: list[Any] = []
        where: list[str] = []

        async def flush() -> None:
            if items:
                report = await ingest_items(
                    job.engine,
                    job.tenant.id,
                    items,
                    source=SOURCE,
                    recordings=job.recordings,
                    where=where,
                    query=query,
                )
                summary.batch(report)
                items.clear()
                where.clear()
            job.state.checkpoint(offset=offset, line=line)
            job.report(offset, size)
            await job.chunk_done()

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


# ---- asterisk-csv ----------------------------------------------------------------------


def _asterisk_query(job: Job, reader: CsvReader) -> str:
    fields = {"format": ImportFormat.asterisk_csv.value, "file": job.name, "tz": job.zone.key}
    if reader.header:
        fields["columns"] = ",".join(reader.header)
    return urlencode(fields)


async def _asterisk(job: Job) -> None:
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
        offset = _start_offset(job, size, body_start)
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
                cdr_legs.c.call_id.in_(call_ids[first : first + CHUNK]),
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
        if outcome is not None:
            INGESTED.labels(outcome).inc()


# ---- freeswitch-json -------------------------------------------------------------------


def _uuid_hint(path: Path) -> str | None:
    name = path.name
    for suffix in (".cdr.json", ".json"):
        name = name.removesuffix(suffix)
    for prefix in ("a_", "b_"):
        name = name.removeprefix(prefix)
    return name or None


async def _freeswitch(job: Job) -> None:
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
                leg = parse_leg(document, _uuid_hint(path))
            except CdrError as exc:
                await job.reject(exc.code, f"{relative}: {exc}", body, "application/json", query)
                continue
            parsed.append((relative, document, leg))
        refused: list[str] = []
        async with writing(job.engine) as conn:
            for (relative, _, _), outcome in zip(
                parsed, await _store_files(conn, job, parsed), strict=True
            ):
                if outcome is None:
                    refused.append(relative)
                else:
                    summary.outcome(outcome)
                    INGESTED.labels(outcome).inc()
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


# ---- replaying what a batch or an import refused ---------------------------------------


async def replay_rejection(engine: AsyncEngine, tenant_id: str, rejection: Rejection) -> None:
    """Store a refused batch item, import line, row or file again (a replayer for
    `callhistory ingest replay`, sources `batch` and `import`); raises NotReplayable
    with the code it still fails with."""
    from callhistory.ingest.replay import NotReplayable  # replay.py registers this

    fields = {k: v[0] for k, v in parse_qs(rejection.query).items()}
    fmt = fields.get("format", "")
    recordings = RecordingUrls(get_settings().recording_url_template)
    if fmt == ImportFormat.asterisk_csv.value:
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
        return
    if fmt == ImportFormat.freeswitch_json.value:
        try:
            document = decode_body(rejection.body.encode(), "application/json")
            leg = parse_leg(document, _uuid_hint(Path(fields.get("file", ""))))
        except CdrError as exc:
            raise NotReplayable(exc.code) from exc
        async with writing(engine) as conn:
            await ingest_freeswitch_leg(conn, tenant_id, document, leg, recordings)
        return
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


# ---- the command -----------------------------------------------------------------------


def summary_lines(summary: Summary) -> list[str]:
    unit = summary.unit
    calls = "" if unit == "lines" else " (calls)"
    lines = []
    if summary.resumed_at is not None:
        where = "file" if unit == "files" else "byte"
        lines.append(f"resumed after {where} {summary.resumed_at:,}")
    lines.append(f"read {summary.read:,} {unit} in {summary.seconds:.1f}s")
    lines.append(
        f"stored {summary.stored:,}, updated {summary.updated:,}, "
        f"duplicates (unchanged) {summary.unchanged:,}{calls}; rejected {summary.rejected:,}"
    )
    for code, count in summary.reasons.most_common():
        lines.append(f"  rejected {code}: {count:,}")
    if summary.rejected:
        lines.append("the rejected ones are kept: callhistory ingest rejections --tenant NAME")
    if summary.note:
        lines.append(f"note: {summary.note}")
    return lines


def command(
    source: Path,
    tenant_name: str,
    fmt: ImportFormat,
    state_path: Path | None,
    time_zone: str | None,
    restart: bool,
    as_json: bool,
) -> None:
    """`callhistory import`: run, with a progress bar on a terminal, then the summary;
    exit 1 if anything was rejected (or the import could not run)."""
    import sys

    import typer
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar

    from callhistory.auth import keys
    from callhistory.cli import fail, run_with_engine

    zone: ZoneInfo | None = None
    if time_zone:
        try:
            zone = ZoneInfo(time_zone)
        except (KeyError, ValueError) as exc:
            raise fail(f"unknown time zone {time_zone!r}") from exc
    err = Console(stderr=True)
    amount = MofNCompleteColumn() if fmt is ImportFormat.freeswitch_json else DownloadColumn()
    bar = Bar(
        TextColumn(f"importing {source.name}"),
        BarColumn(),
        amount,
        TimeRemainingColumn(),
        console=err,
        disable=as_json or not sys.stderr.isatty(),
    )
    task = bar.add_task("import", total=None)

    def progress(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    async def work(engine: AsyncEngine) -> Summary:
        async with engine.connect() as conn:
            tenant = await keys.find_tenant(conn, tenant_name)
        if tenant is None:
            raise ImportProblem(f"no tenant {tenant_name!r}")
        recordings = RecordingUrls(get_settings().recording_url_template)
        with bar:
            return await run_import(
                engine,
                tenant,
                fmt,
                source,
                state_path=state_path,
                restart=restart,
                zone=zone,
                recordings=recordings,
                progress=progress,
            )

    try:
        summary = run_with_engine(work)
    except ImportProblem as exc:
        raise fail(str(exc)) from exc
    if as_json:
        typer.echo(orjson.dumps(summary.public()).decode())
    else:
        for line in summary_lines(summary):
            typer.echo(line)
    if summary.rejected:
        raise typer.Exit(code=1)
