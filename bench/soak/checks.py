"""What the soak verifies, and its verdict (`Report.failed`): every acknowledged leg,
call and batch item in the database exactly once and nothing extra (`verify`), no
error in any phase nor in the server's log (`read_log`), and the memory flatness rule
(`memory_rows`: the soak's first window against its last)."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench.soak.memory import Memory, MemorySample
from bench.soak.options import Options
from bench.soak.phase import Phase
from bench.soak.tenant import Ledger, Picks


@dataclass
class MemoryRow:
    process: str
    first_mb: float
    last_mb: float
    peak_mb: float
    slope: float  # MB per minute over the second half of the soak (least squares)

    @property
    def growth_mb(self) -> float:
        return self.last_mb - self.first_mb

    @property
    def growth_pct(self) -> float:
        return 100 * self.growth_mb / self.first_mb if self.first_mb else float("nan")


def memory_rows(memory: Memory, soak_seconds: float) -> tuple[list[MemoryRow], float]:
    """Mean RSS over the soak's first and last windows (a minute, or a third of a short
    run), per process and in total; and the window's length."""
    window = min(60.0, soak_seconds / 3)
    soak = [s for s in memory.samples if s.phase == "soak"]
    first = [s for s in soak if s.at < window] or soak[:1]
    last = [s for s in soak if s.at >= soak_seconds - window] or soak[-1:]
    seen = {pid for s in soak for pid in s.rss}
    # a row each for the processes there from the first sample to the last; the others
    # (replaced workers) share one
    lasting = sorted(
        (p for p in seen if soak and p in soak[0].rss and p in soak[-1].rss),
        key=lambda p: (memory.roles[p], p),
    )
    groups: list[tuple[str, set[int] | None]] = [(f"{memory.roles[p]} {p}", {p}) for p in lasting]
    if seen - set(lasting):
        groups.append((f"short-lived ({len(seen) - len(lasting)})", seen - set(lasting)))
    groups.append(("total", None))

    def rss(sample: MemorySample, pids: set[int] | None) -> float:
        return sum(mb for pid, mb in sample.rss.items() if pids is None or pid in pids)

    def mean(samples: list[MemorySample], pids: set[int] | None) -> float:
        values = [rss(s, pids) for s in samples]
        return statistics.fmean(values) if values else float("nan")

    def slope(pids: set[int] | None) -> float:
        half = [s for s in soak if s.at >= soak_seconds / 2]
        if len(half) < 3:
            return float("nan")
        return statistics.linear_regression(
            [s.at / 60 for s in half], [rss(s, pids) for s in half]
        ).slope

    rows = []
    for label, pids in groups:
        peak = max((rss(s, pids) for s in soak), default=float("nan"))
        rows.append(MemoryRow(label, mean(first, pids), mean(last, pids), peak, slope(pids)))
    return rows, window


@dataclass
class Integrity:
    legs_sent: int = 0
    legs_acked: int = 0
    legs_missing: int = 0  # acknowledged, not stored (or stored under another call)
    legs_repeated: int = 0  # a leg uuid stored more than once
    leg_calls_acked: int = 0
    leg_calls_missing: int = 0
    items_sent: int = 0
    items_acked: int = 0
    items_missing: int = 0
    extra_calls: int = 0  # rows neither seeded nor sent
    examples: list[str] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return (
            self.legs_missing
            + self.legs_repeated
            + self.leg_calls_missing
            + self.items_missing
            + self.extra_calls
        )


async def verify(url: str, picks: Picks, ledger: Ledger) -> Integrity:
    """What the database holds against what was acknowledged and sent."""
    found = Integrity(
        legs_sent=ledger.sent_legs,
        legs_acked=len(ledger.acked_legs),
        leg_calls_acked=len(ledger.acked_leg_calls),
        items_sent=ledger.sent_items,
        items_acked=len(ledger.acked_items),
    )
    stored, legs, found.webhook["in the database"] = await _stored(url, picks.tenant_id)
    # calls: the primary key (tenant_id, transaction_id) makes a row unique by its id, so
    # "exactly once" is: present, and no row under any id this run did not make
    for leg_uuid, call_id in ledger.acked_legs.items():
        where = legs.get(leg_uuid, [])
        if where != [call_id]:
            if not where or call_id not in where:
                found.legs_missing += 1
            else:
                found.legs_repeated += 1
            found.examples.append(f"leg {leg_uuid} of call {call_id}: stored under {where}")
    for call_id in ledger.acked_leg_calls - stored:
        found.leg_calls_missing += 1
        found.examples.append(f"FreeSWITCH call {call_id} acknowledged, not stored")
    for tid in ledger.acked_items - stored:
        found.items_missing += 1
        found.examples.append(f"batch call {tid} acknowledged, not stored")
    extra = stored - picks.seeded - ledger.sent_calls
    found.extra_calls = len(extra)
    found.examples += [f"call {tid} stored, never sent" for tid in sorted(extra)[:5]]
    del found.examples[20:]
    return found


async def _stored(
    url: str, tenant_id: str
) -> tuple[set[str], dict[str, list[str]], dict[str, int]]:
    """The tenant's call ids, its legs (leg uuid -> the call ids it is stored under), and
    its webhook deliveries by status."""
    conn = await asyncpg.connect(url)
    try:
        stored = {
            r["transaction_id"]
            for r in await conn.fetch(
                "SELECT transaction_id FROM calls WHERE tenant_id = $1", tenant_id
            )
        }
        legs: dict[str, list[str]] = {}
        for r in await conn.fetch(
            "SELECT leg_uuid, call_id FROM cdr_legs WHERE tenant_id = $1", tenant_id
        ):
            legs.setdefault(r["leg_uuid"], []).append(r["call_id"])
        statuses = await conn.fetch(
            "SELECT status, count(*) AS n FROM webhook_deliveries WHERE tenant_id = $1"
            " GROUP BY status",
            tenant_id,
        )
        return stored, legs, {r["status"]: r["n"] for r in statuses}
    finally:
        await conn.close()


@dataclass
class Report:
    options: Options
    rate: float = 0.0
    peak: Phase | None = None
    warmup: Phase | None = None
    soak: Phase | None = None
    memory: Memory | None = None
    ledger: Ledger = field(default_factory=Ledger)
    integrity: Integrity = field(default_factory=Integrity)
    webhook_received: int = 0
    webhook_events: dict[str, int] = field(default_factory=dict)
    server_log_errors: list[str] = field(default_factory=list)
    server_log_replaced: list[str] = field(default_factory=list)  # "Child process [..] died"
    server_log_levels: dict[str, int] = field(default_factory=dict)
    server_log: str = ""  # kept when the run failed
    seeded_calls: int = 0
    load_start: float = 0.0
    load_end: float = 0.0
    problems: list[str] = field(default_factory=list)  # other reasons to fail

    def errors(self) -> int:
        phases = (self.peak, self.warmup, self.soak)
        return sum(p.error_count() for p in phases if p is not None)

    def memory_flat(self) -> bool | None:
        if self.memory is None or self.soak is None:
            return None
        rows, _ = memory_rows(self.memory, self.soak.seconds)
        return rows[-1].growth_pct < self.options.flat_percent

    def failed(self) -> bool:
        grew = self.options.fail_on_growth and self.memory_flat() is False
        return bool(self.errors() or self.integrity.lost or self.problems or grew)


def read_log(path: Path) -> tuple[list[str], list[str], Counter[str]]:
    """The server log's error lines (JSON level error/critical, or anything not JSON that
    looks like a traceback), uvicorn's worker-replacement lines, and lines per level."""
    errors, replaced, levels = [], [], Counter[str]()
    for line in path.read_bytes().decode(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            levels["(not JSON)"] += 1
            if "Traceback" in line or "Error" in line:
                errors.append(line)
            continue
        level, message = str(entry.get("level", "?")), str(entry.get("message", ""))
        levels[level] += 1
        if level in ("error", "critical"):
            errors.append(f"{message} {entry.get('error', '')}".strip())
        if "died" in message or "failed to start" in message or "not ready in time" in message:
            replaced.append(f"{entry.get('time', '')} {message}")
    return errors, replaced, levels


def check_server_log(report: Report, path: Path) -> None:
    """The server log's error and worker-replacement lines into `report`, each kind a
    problem when there is one."""
    errors, replaced, levels = read_log(path)
    report.server_log_errors, report.server_log_replaced = errors, replaced
    report.server_log_levels = dict(levels)
    if errors:
        report.problems.append(f"{len(errors)} error lines in the server log")
    if replaced:
        report.problems.append(f"{len(replaced)} worker(s) replaced by uvicorn (server log)")
