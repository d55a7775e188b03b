"""An import's job: its format, its summary, and the state file that makes it resumable.

Work goes in chunks, each one transaction; after each, a checkpoint is appended to the
state file (the byte offset reached, or the files done). An interrupted import run again
with the same state file continues after the last checkpoint; a chunk that was stored
but not checkpointed is read again and changes nothing (every store is idempotent).
Because the offset is kept, running it again on a file that has grown since (Master.csv
is appended to) reads only the new rows.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth.keys import Tenant
from callhistory.db import now_ms
from callhistory.ingest import rejections
from callhistory.ingest.batch import BatchReport
from callhistory.ingest.enrich import RecordingUrls
from callhistory.ingest.store import Outcome

SOURCE = "import"
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


class Pipeline:
    """Up to `depth` chunks being stored at once, finished in the order they were given.

    While PostgreSQL writes one chunk, this process checks and enriches the next one:
    on two cores the two overlap instead of taking turns. Each chunk's `after` (its
    summary, its checkpoint) runs once it and every chunk before it are stored, so a
    checkpoint never passes a chunk that is not. A chunk holding a call that a chunk
    still in flight holds waits for those before it: a call's versions are stored in
    the order the file gives them.
    """

    def __init__(self, depth: int = 2) -> None:
        self.depth = depth
        self._flight: deque[tuple[asyncio.Task[Any], Collection[str], AfterChunk]] = deque()

    async def submit(self, keys: Collection[str], work: Awaitable[Any], after: AfterChunk) -> None:
        if any(not set(keys).isdisjoint(held) for _, held, _ in self._flight):
            await self.drain()
        while len(self._flight) >= self.depth:
            await self._finish_oldest()
        self._flight.append((asyncio.ensure_future(work), keys, after))

    async def drain(self) -> None:
        while self._flight:
            await self._finish_oldest()

    async def _finish_oldest(self) -> None:
        task, _, after = self._flight.popleft()
        try:
            result = await task
        except BaseException:
            await self._abandon()
            raise
        await after(result)

    async def _abandon(self) -> None:
        """After a failure, the chunks after it are not checkpointed: they are waited
        for (their transactions end either way) and read again by the next run."""
        for task, _, _ in self._flight:
            task.cancel()
        await asyncio.gather(*(t for t, _, _ in self._flight), return_exceptions=True)
        self._flight.clear()


AfterChunk = Callable[[Any], Awaitable[None]]


def open_state(
    tenant: Tenant,
    fmt: ImportFormat,
    source: Path,
    state_path: Path | None,
    restart: bool,
    reads_directory: bool,
) -> State:
    """The import's state file, checked against the source (before any work)."""
    if reads_directory:
        if not source.is_dir():
            raise ImportProblem(f"{source} is not a directory ({fmt.value} reads a directory)")
    elif not source.is_file():
        raise ImportProblem(f"{source} is not a file")
    header = {"format": fmt.value, "input": str(source.resolve()), "tenant_id": tenant.id}
    return State.open(state_path or default_state_path(source), header, restart)


def start_offset(job: Job, size: int, first: int) -> int:
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
