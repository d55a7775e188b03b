"""Re-ingesting refused posts once their cause is fixed (a key, a hotline, a bug).

Each kept rejection is tried again exactly as it first came; the ones that now go
through are marked replayed, the others stay listed with their reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.config import get_settings
from callhistory.db import writing
from callhistory.ingest import rejections
from callhistory.ingest.backfill.imports import replay_rejection
from callhistory.ingest.enrich import RecordingUrls
from callhistory.ingest.formats.freeswitch import CdrError, decode_body, parse_leg
from callhistory.ingest.pipeline import ingest_freeswitch_leg
from callhistory.ingest.rejections import NotReplayable, Rejection
from callhistory.schema import NO_TENANT

Replayer = Callable[[AsyncEngine, str, Rejection], Awaitable[None]]
MAX_REPLAY = 100_000


@dataclass
class ReplayReport:
    replayed: int = 0
    still_failing: Counter[str] = field(default_factory=Counter)

    @property
    def tried(self) -> int:
        return self.replayed + sum(self.still_failing.values())


async def _replay_freeswitch(engine: AsyncEngine, tenant_id: str, rejection: Rejection) -> None:
    if not rejection.body:
        raise NotReplayable("no_body_kept")
    uuid = parse_qs(rejection.query).get("uuid", [""])[0] or None
    try:
        document = decode_body(rejection.body.encode(), rejection.content_type)
        leg = parse_leg(document, uuid)
    except CdrError as exc:
        raise NotReplayable(exc.code) from exc
    recordings = RecordingUrls(get_settings().recording_url_template)
    async with writing(engine) as conn:
        await ingest_freeswitch_leg(conn, tenant_id, document, leg, recordings)


REPLAYERS: dict[str, Replayer] = {
    "freeswitch": _replay_freeswitch,
    "batch": replay_rejection,  # POST /api/cdr items
    "import": replay_rejection,  # `callhistory import` lines, rows and files
}


async def replay(
    engine: AsyncEngine, tenant_id: str, *, unauthenticated: bool = False
) -> ReplayReport:
    """Try the tenant's pending rejections again (and, with `unauthenticated`, the posts
    that named no tenant, as this tenant's: the operator vouches for them)."""
    report = ReplayReport()
    owners = [tenant_id, NO_TENANT] if unauthenticated else [tenant_id]
    for owner in owners:
        async with engine.connect() as conn:
            pending = await rejections.recent(conn, owner, MAX_REPLAY, pending_only=True)
        for rejection in reversed(pending):  # oldest first, as they were sent
            replayer = REPLAYERS.get(rejection.source)
            try:
                if replayer is None:
                    raise NotReplayable("unknown_source")
                await replayer(engine, tenant_id, rejection)
            except NotReplayable as exc:
                report.still_failing[exc.code] += 1
                continue
            async with engine.begin() as conn:
                await rejections.mark_replayed(conn, owner, rejection.id)
            report.replayed += 1
    return report
