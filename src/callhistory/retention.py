"""Retention: what is deleted, and when, so the tables and the export directory stop
growing (docs/operations.md).

- Webhook deliveries: delivered ones CALLHISTORY_RETENTION_DELIVERIES_DAYS (30) after
  their last attempt, parked ones after CALLHISTORY_RETENTION_PARKED_DAYS (90); pending
  ones never (webhooks.pruning).
- The change feed: changes older than CALLHISTORY_RETENTION_CHANGES_DAYS (90), never one
  a webhook has not been made from yet; sync cursors before what was pruned then answer
  410 cursor_expired (sync.pruning).
- Export files, once every download link to them has expired (exports.pruning).
- Each tenant's calls after its `cdr_days`, and their recordings after its
  `recording_days` (`callhistory tenant retention`; calls.retention).

Work goes tenant by tenant in batches of BATCH rows, each its own short transaction, so
pruning never holds locks for long. The worker runs it every
CALLHISTORY_RETENTION_INTERVAL_SECONDS with a budget of batches per round, and comes
back the next round while there is more; `callhistory prune` runs it to the end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.calls import retention as call_retention
from callhistory.calls.params import DAY_MS
from callhistory.config import Settings
from callhistory.db import now_ms
from callhistory.exports import pruning as export_pruning
from callhistory.schema import tenants
from callhistory.sync import pruning as change_pruning
from callhistory.webhooks import pruning as delivery_pruning

log = logging.getLogger("callhistory.retention")

BATCH = 1000
ROUND_BUDGET = 20  # deleting batches per worker round: its webhook sends wait that long

KINDS = ("delivered", "parked", "changes", "exports", "calls", "recordings")


@dataclass
class Pruned:
    """What was deleted for one tenant."""

    tenant_id: str
    tenant: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Report:
    tenants: list[Pruned] = field(default_factory=list)  # those that had anything deleted
    more: bool = False  # stopped at the budget: there is more to delete

    def total(self, kind: str) -> int:
        return sum(t.counts[kind] for t in self.tenants)


Step = Callable[[], Awaitable[int]]


def _steps(
    engine: AsyncEngine, settings: Settings, tenant: Row[Any, Any, Any, Any], now: int
) -> list[tuple[str, Step]]:
    """One batch of each kind this configuration and the tenant's own prune (0 days, or
    NULL for a tenant's: kept forever)."""
    tenant_id = tenant.id
    steps: list[tuple[str, Step]] = []
    for kind, days, prune_batch in (
        ("calls", tenant.cdr_days, call_retention.prune_calls),
        ("recordings", tenant.recording_days, call_retention.prune_recordings),
    ):
        if days:
            cutoff = now - days * DAY_MS
            steps.append((kind, partial(prune_batch, engine, settings, tenant_id, cutoff, BATCH)))
    for kind, days in (
        ("delivered", settings.retention_deliveries_days),
        ("parked", settings.retention_parked_days),
    ):
        if days > 0:
            step = partial(
                delivery_pruning.prune_batch, engine, tenant_id, kind, now - days * DAY_MS, BATCH
            )
            steps.append((kind, step))
    if settings.retention_changes_days > 0:
        cutoff = now - settings.retention_changes_days * DAY_MS
        steps.append(
            ("changes", partial(change_pruning.prune_batch, engine, tenant_id, cutoff, now, BATCH))
        )
    ttl_ms = settings.export_link_ttl_seconds * 1000
    steps.append(
        ("exports", partial(export_pruning.prune_batch, engine, tenant_id, now, ttl_ms, BATCH))
    )
    return steps


async def prune(
    engine: AsyncEngine,
    settings: Settings,
    now: int | None = None,
    *,
    tenant_id: str | None = None,
    budget: int | None = None,
) -> Report:
    """Delete what retention allows at `now` (every tenant, or one), in at most `budget`
    batches that delete something (None: until nothing is left)."""
    moment = now_ms() if now is None else now
    query = select(
        tenants.c.id, tenants.c.name, tenants.c.cdr_days, tenants.c.recording_days
    ).order_by(tenants.c.id)
    if tenant_id is not None:
        query = query.where(tenants.c.id == tenant_id)
    async with engine.connect() as conn:
        found = (await conn.execute(query)).all()
    report = Report()
    spent = 0
    for row in found:
        pruned = Pruned(row.id, row.name)
        for kind, step in _steps(engine, settings, row, moment):
            while True:
                if budget is not None and spent >= budget:
                    report.more = True
                    break
                done = await step()
                # Only batches that deleted count: finding nothing is a cheap index probe,
                # and counting it would let many quiet tenants starve the ones after them.
                spent += bool(done)
                pruned.counts[kind] += done
                if done < BATCH:
                    break
        if pruned.total:
            report.tenants.append(pruned)
        if report.more:
            break
    return report


class Schedule:
    """When the worker prunes: every interval, and again at once while there is more."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.next_at = 0.0  # the first round prunes

    async def run_if_due(self, engine: AsyncEngine) -> None:
        interval = self.settings.retention_interval_seconds
        if interval <= 0 or time.monotonic() < self.next_at:
            return
        # Set first: a round that fails is not retried every second.
        self.next_at = time.monotonic() + interval
        report = await prune(engine, self.settings, budget=ROUND_BUDGET)
        if report.more:
            self.next_at = 0.0
        if report.tenants:
            log.info(
                "pruned %s",
                ", ".join(f"{kind} {report.total(kind)}" for kind in KINDS),
            )
