"""The reports page's numbers: the contract's totals, then what the charts and tables show.

Day and hour buckets follow the tenant's zone, from quarter-hours of UTC (stats.buckets):
at most 30 days x 96 quarters x 6 (direction, disposition) rows, whatever the number of
calls. The agents' table is `GET /api/stats/agents`'s totals.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.calls import queries
from callhistory.calls.params import CallFilter
from callhistory.reports.routes import _counts, summarise
from callhistory.schema import calls, hotlines
from callhistory.stats import buckets
from callhistory.stats import lines as stats_lines
from callhistory.stats import queries as stats_queries


@dataclass
class Day:
    day: date
    by_direction: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    answered: int = 0
    missed: int = 0
    talk_seconds: int = 0


@dataclass(frozen=True)
class AgentLine:
    name: str
    email: str | None
    calls: int
    answered: int
    talk_seconds: int
    average_score: float | None

    @property
    def answered_rate(self) -> float:
        return 100 * self.answered / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class HotlineLine:
    number: str
    name: str
    inbound: int
    outbound: int
    answered: int
    talk_seconds: int

    @property
    def calls(self) -> int:
        return self.inbound + self.outbound


@dataclass
class Report:
    totals: dict[str, Any]
    days: list[Day]
    heat: list[list[int]]  # [weekday 0=Monday][hour]
    agents: list[AgentLine]
    hotlines: list[HotlineLine]


async def _quarters(
    conn: AsyncConnection, tenant_id: str, f: CallFilter
) -> list[tuple[int, str, str, int, int]]:
    quarter = (calls.c.created_date // buckets.QUARTER_MS).label("quarter")
    rows = await conn.execute(
        select(
            quarter,
            calls.c.direction,
            calls.c.disposition,
            func.count(),
            func.coalesce(func.sum(calls.c.bill_sec), 0),
        )
        .where(*queries.where(tenant_id, f))
        .group_by(quarter, calls.c.direction, calls.c.disposition)
    )
    return [(int(q), d, s, int(n), int(t)) for q, d, s, n, t in rows]


def _days(f: CallFilter, zone: ZoneInfo) -> dict[date, Day]:
    first = datetime.fromtimestamp(f.from_ms / 1000, zone).date()
    last = datetime.fromtimestamp(f.to_ms / 1000, zone).date()
    out: dict[date, Day] = {}
    while first <= last:
        out[first] = Day(first)
        first += timedelta(days=1)
    return out


async def _agents(conn: AsyncConnection, tenant_id: str, f: CallFilter) -> list[AgentLine]:
    """The agents' totals as `GET /api/stats/agents` gives them (the same definitions)."""
    rows = await stats_queries.agent_rows(conn, tenant_id, f, [])
    found = []
    for line in stats_lines.lines(rows, ZoneInfo("UTC"), None):
        figures = line.totals.figures()
        found.append(
            AgentLine(
                line.extra[0] or line.key[1] or "",
                line.key[0],
                figures["calls"],
                figures["answered"],
                figures["talk_sec"],
                figures["average_score"],
            )
        )
    return found


async def _hotlines(conn: AsyncConnection, tenant_id: str, f: CallFilter) -> list[HotlineLine]:
    rows = await conn.execute(
        select(
            calls.c.hotline,
            calls.c.direction,
            calls.c.disposition,
            func.count(),
            func.coalesce(func.sum(calls.c.bill_sec), 0),
        )
        .where(*queries.where(tenant_id, f), calls.c.hotline.is_not(None))
        .group_by(calls.c.hotline, calls.c.direction, calls.c.disposition)
    )
    name_rows = await conn.execute(
        select(hotlines.c.number, hotlines.c.name).where(hotlines.c.tenant_id == tenant_id)
    )
    names = {str(number): str(name) for number, name in name_rows}
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for number, direction, disposition, n, seconds in rows:
        line = acc[number]
        if direction == "inbound":
            line[0] += n
        elif direction == "outbound":
            line[1] += n
        if disposition == "answered":
            line[2] += n
        line[3] += int(seconds)
    return sorted(
        (HotlineLine(k, names.get(k, ""), *v) for k, v in acc.items()),
        key=lambda h: (-h.calls, h.number),
    )


async def build(conn: AsyncConnection, tenant_id: str, f: CallFilter, time_zone: str) -> Report:
    zone = ZoneInfo(time_zone)
    totals = summarise(await _counts(conn, tenant_id, f))
    days = _days(f, zone)
    heat = [[0] * 24 for _ in range(7)]
    for quarter, direction, disposition, n, seconds in await _quarters(conn, tenant_id, f):
        moment = buckets.local(quarter * buckets.QUARTER_MS, zone)
        day = days.get(moment.date())
        if day is None:  # only a window's own quarters match; kept safe all the same
            continue
        day.by_direction[direction] += n
        if disposition == "answered":
            day.answered += n
        else:
            day.missed += n
        day.talk_seconds += seconds
        heat[moment.weekday()][moment.hour] += n
    return Report(
        totals=totals,
        days=list(days.values()),
        heat=heat,
        agents=await _agents(conn, tenant_id, f),
        hotlines=await _hotlines(conn, tenant_id, f),
    )
