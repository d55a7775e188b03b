"""`callhistory import`: back-filling calls from files, resumably.

Each format is one module here, a reader (`read(job)`: the file or directory into the
store in chunks) and a replayer (`replay(...)`: one line, row or file it refused, stored
again), parsing with its PBX's pure parser in ingest.formats. FORMATS is the registry:
a format added is one module and one line there (and its name in ImportFormat).

Resumable (see job): an interrupted import run again continues after its last
checkpoint. The command itself (its progress bar and summary) is in ingest.cli.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth.keys import Tenant
from callhistory.config import get_settings
from callhistory.ingest.backfill import asterisk_csv, freeswitch_json, jsonl
from callhistory.ingest.backfill.job import (
    ImportFormat,
    ImportProblem,
    Job,
    Progress,
    Summary,
    open_state,
)
from callhistory.ingest.enrich import RecordingUrls
from callhistory.ingest.rejections import Rejection

__all__ = ["FORMATS", "ImportFormat", "ImportProblem", "Summary", "replay_rejection", "run_import"]

Replayer = Callable[[AsyncEngine, str, dict[str, str], Rejection, RecordingUrls], Awaitable[None]]


@dataclass(frozen=True)
class BackfillFormat:
    read: Callable[[Job], Awaitable[None]]
    replay: Replayer
    reads_directory: bool = False  # else one file


FORMATS: dict[ImportFormat, BackfillFormat] = {
    ImportFormat.jsonl: BackfillFormat(jsonl.read, jsonl.replay),
    ImportFormat.asterisk_csv: BackfillFormat(asterisk_csv.read, asterisk_csv.replay),
    ImportFormat.freeswitch_json: BackfillFormat(
        freeswitch_json.read, freeswitch_json.replay, reads_directory=True
    ),
}


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
    backfill = FORMATS[fmt]
    state = open_state(tenant, fmt, source, state_path, restart, backfill.reads_directory)
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
    await backfill.read(job)
    summary = job.summary
    summary.seconds = time.perf_counter() - began
    if state.resumed and not summary.read and not summary.note:
        summary.note = "nothing new since the last run"
    return summary


async def replay_rejection(engine: AsyncEngine, tenant_id: str, rejection: Rejection) -> None:
    """Store a refused batch item, import line, row or file again (a replayer for
    `callhistory ingest replay`, sources `batch` and `import`); raises NotReplayable
    with the code it still fails with. A batch's items replay as jsonl lines."""
    fields = {k: v[0] for k, v in parse_qs(rejection.query).items()}
    try:
        fmt = ImportFormat(fields.get("format", ImportFormat.jsonl.value))
    except ValueError:
        fmt = ImportFormat.jsonl
    recordings = RecordingUrls(get_settings().recording_url_template)
    await FORMATS[fmt].replay(engine, tenant_id, fields, rejection, recordings)
