"""`callhistory import`: back-filling calls from files, resumably.

Formats: `jsonl` (one batch item per line, as `POST /api/cdr` takes them),
`asterisk-csv` (cdr_csv's Master.csv, see ingest.asterisk) and `freeswitch-json` (a
directory of mod_json_cdr files, `log-dir` or `err-log-dir`).

Resumable (see import_job): an interrupted import run again continues after its last
checkpoint. The readers of each format are in import_formats; the command itself (its
progress bar and summary) in ingest.cli.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth.keys import Tenant
from callhistory.config import get_settings
from callhistory.db import writing
from callhistory.ingest import items
from callhistory.ingest.asterisk import AsteriskError, CsvReader, read_records
from callhistory.ingest.batch import store_checked
from callhistory.ingest.enrich import RecordingUrls
from callhistory.ingest.freeswitch import CdrError, decode_body, parse_leg
from callhistory.ingest.import_formats import (
    read_asterisk,
    read_freeswitch,
    read_jsonl,
    store_asterisk_rows,
    uuid_hint,
)
from callhistory.ingest.import_job import (
    ImportFormat,
    ImportProblem,
    Job,
    Progress,
    Summary,
    open_state,
)
from callhistory.ingest.pipeline import ingest_freeswitch_leg
from callhistory.ingest.rejections import NotReplayable, Rejection

__all__ = ["ImportFormat", "ImportProblem", "Summary", "replay_rejection", "run_import"]


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
        await read_jsonl(job)
    elif fmt is ImportFormat.asterisk_csv:
        await read_asterisk(job)
    else:
        await read_freeswitch(job)
    summary = job.summary
    summary.seconds = time.perf_counter() - began
    if state.resumed and not summary.read and not summary.note:
        summary.note = "nothing new since the last run"
    return summary


# ---- replaying what a batch or an import refused ---------------------------------------


async def replay_rejection(engine: AsyncEngine, tenant_id: str, rejection: Rejection) -> None:
    """Store a refused batch item, import line, row or file again (a replayer for
    `callhistory ingest replay`, sources `batch` and `import`); raises NotReplayable
    with the code it still fails with."""
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
            leg = parse_leg(document, uuid_hint(Path(fields.get("file", ""))))
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
