"""Concurrent FreeSWITCH posts of one process, stored together.

A PBX posts every leg on its own, many at once. Stored one per transaction, each post
pays for its own statements and its own commit (an fsync); here the posts that arrive
while a transaction runs wait for the next one and share it: one lock, one insert of
their legs, one read of the directories, one multi-row insert or update of their calls,
one commit. Nothing waits on a timer: a lone post is stored at once, as before; under
load the batches grow by themselves, so throughput grows with them.

Each post is answered only after the transaction holding it has committed, with the
outcome it would have had alone (see pipeline.store_legs). Should a shared transaction
fail, its posts are stored again one per transaction, so one bad post fails only itself.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from itertools import groupby

from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.db import writing
from callhistory.ingest.enrich import RecordingUrls
from callhistory.ingest.pipeline import PostedLeg, store_legs
from callhistory.ingest.store import Outcome

log = logging.getLogger("callhistory")

MAX_LEGS_PER_TRANSACTION = 100  # long enough to amortise, short enough to hold few locks


class StoreFailed(Exception):
    """The database refused this leg's call (a value no column holds, say)."""


@dataclass
class _Waiting:
    tenant_id: str
    posted: PostedLeg
    recordings: RecordingUrls
    done: asyncio.Future[Outcome] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def group(self) -> tuple[str, str]:
        return (self.tenant_id, self.recordings.template)


class LegQueue:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._waiting: list[_Waiting] = []
        self._worker: asyncio.Task[None] | None = None

    async def store(self, tenant_id: str, posted: PostedLeg, recordings: RecordingUrls) -> Outcome:
        """Store the leg with whatever else is waiting; its outcome once committed."""
        waiting = _Waiting(tenant_id, posted, recordings)
        self._waiting.append(waiting)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        # Shielded: a sender that hangs up does not cancel the others' transaction.
        return await asyncio.shield(waiting.done)

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._waiting[:MAX_LEGS_PER_TRANSACTION]
            del self._waiting[:MAX_LEGS_PER_TRANSACTION]
            await self._store(batch)

    async def _store(self, batch: list[_Waiting]) -> None:
        try:
            outcomes = await self._together(batch)
        except Exception as exc:  # handed to the posts it concerns
            if len(batch) > 1:
                log.info("%d legs stored one by one after a shared failure", len(batch))
                for waiting in batch:
                    await self._store([waiting])
                return
            outcomes = [exc]
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if waiting.done.done():
                continue
            if isinstance(outcome, BaseException):
                waiting.done.set_exception(outcome)
            elif outcome is None:
                waiting.done.set_exception(StoreFailed(waiting.posted.leg.call_id))
            else:
                waiting.done.set_result(outcome)

    async def _together(self, batch: list[_Waiting]) -> list[Outcome | BaseException | None]:
        """One transaction for the whole batch, tenants in one order (their calls' locks
        are taken tenant by tenant: a fixed order, so two processes cannot deadlock)."""
        outcome_of: dict[int, Outcome | None] = {}
        ordered = sorted(range(len(batch)), key=lambda i: batch[i].group())
        async with writing(self.engine) as conn:
            for (tenant_id, _), members in groupby(ordered, key=lambda i: batch[i].group()):
                indexes = list(members)
                outcomes = await store_legs(
                    conn,
                    tenant_id,
                    [batch[i].posted for i in indexes],
                    batch[indexes[0]].recordings,
                    # Should the database refuse a call, _store stores each post alone.
                    isolated=len(batch) == 1,
                )
                outcome_of.update(zip(indexes, outcomes, strict=True))
        return [outcome_of[i] for i in range(len(batch))]
