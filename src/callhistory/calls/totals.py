"""Exact counts and report totals of a window from per-day totals (PostgreSQL).

`call_day_totals` holds the live calls per tenant, UTC day and equality filter, kept
exact by triggers on `calls` in the writer's own transaction (migration 0006). A window
[from, to] sums its whole UTC days there and counts only what falls outside them (its
two partial edge days) in `calls` itself, through ix_calls_live. Filters the totals do
not carry (agents, user ids, tags, keyword, the quality filters) count the calls
themselves, as does SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.calls import quality
from callhistory.calls.conditions import column_conditions
from callhistory.calls.params import DAY_MS, CallFilter
from callhistory.rows import insert_rows
from callhistory.schema import call_day_totals, calls

_t = call_day_totals

# The statement both the migration's backfill and bench.load's rebuild run.
REBUILD_SQL = """
INSERT INTO call_day_totals (tenant_id, day, direction, disposition, is_auto_call, hotline,
                             queue_destination, sip_user, calls, bill_sec)
SELECT tenant_id, created_date - created_date % 86400000, direction, disposition,
       is_auto_call, coalesce(hotline, ''), coalesce(queue_destination, ''),
       coalesce(sip_user, ''), count(*), coalesce(sum(bill_sec), 0)
FROM calls WHERE is_deleted IS false
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
"""


def usable(conn: AsyncConnection, f: CallFilter) -> bool:
    return conn.dialect.name == "postgresql" and not (
        f.agents
        or f.user_uuids
        or f.tag_ids
        or f.keyword
        or f.agent_scope is not None
        or quality.is_set(f)
    )


def whole_days(f: CallFilter) -> tuple[int, int] | None:
    """[first, end) of the whole UTC days inside the window, if there is one."""
    first = -(-f.from_ms // DAY_MS) * DAY_MS
    end = (f.to_ms + 1) // DAY_MS * DAY_MS
    return (first, end) if end > first else None


def _totals_where(tenant_id: str, f: CallFilter, first: int, end: int) -> list[Any]:
    return [
        _t.c.tenant_id == tenant_id,
        _t.c.day >= first,
        _t.c.day < end,
        *column_conditions(_t, f),
    ]


async def count(
    conn: AsyncConnection, tenant_id: str, f: CallFilter, where: list[ColumnElement[bool]]
) -> int | None:
    """The exact number of calls `where` selects, or None when the totals cannot say."""
    days = whole_days(f)
    if days is None or not usable(conn, f):
        return None
    first, end = days
    whole = (
        select(func.coalesce(func.sum(_t.c.calls), 0))
        .where(*_totals_where(tenant_id, f, first, end))
        .scalar_subquery()
    )
    before, after = (
        select(func.count()).select_from(calls).where(*where, edge).scalar_subquery()
        for edge in (calls.c.created_date < first, calls.c.created_date >= end)
    )
    total = await conn.scalar(select(whole + before + after))
    return int(total or 0)


async def by_direction_and_disposition(
    conn: AsyncConnection, tenant_id: str, f: CallFilter, where: list[ColumnElement[bool]]
) -> dict[tuple[str, str], tuple[int, int]] | None:
    """(direction, disposition) -> (calls, summed bill_sec), or None as `count`."""
    days = whole_days(f)
    if days is None or not usable(conn, f):
        return None
    first, end = days
    whole = select(
        _t.c.direction, _t.c.disposition, _t.c.calls.label("n"), _t.c.bill_sec.label("b")
    ).where(*_totals_where(tenant_id, f, first, end))
    edges = [
        select(
            calls.c.direction, calls.c.disposition, literal(1).label("n"), calls.c.bill_sec
        ).where(*where, edge)
        for edge in (calls.c.created_date < first, calls.c.created_date >= end)
    ]
    parts = union_all(whole, *edges).subquery()
    rows = await conn.execute(
        select(
            parts.c.direction,
            parts.c.disposition,
            func.sum(parts.c.n),
            func.coalesce(func.sum(parts.c.b), 0),
        ).group_by(parts.c.direction, parts.c.disposition)
    )
    return {(d, s): (int(n), int(b)) for d, s, n, b in rows if n}


async def rebuild(conn: AsyncConnection) -> None:
    """Recount every tenant's totals from the calls (after a load that bypassed triggers)."""
    await conn.exec_driver_sql("DELETE FROM call_day_totals")
    await conn.exec_driver_sql(REBUILD_SQL)


_GROUP = ("direction", "disposition", "is_auto_call", "hotline", "queue_destination", "sip_user")
_KEY = ("tenant_id", "day", *_GROUP)


def _key(tenant_id: str, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
    created = values.get("created_date")
    direction, disposition, auto = (values.get(n) for n in _GROUP[:3])
    if created is None or direction is None or disposition is None or auto is None:
        return None  # a row the calls table refuses anyway
    day = created - created % DAY_MS
    rest = (values.get(n) or "" for n in _GROUP[3:])
    return (tenant_id, day, direction, disposition, bool(auto), *rest)


async def lock_groups(
    conn: AsyncConnection, tenant_id: str, rows: Iterable[Mapping[str, Any]]
) -> None:
    """Lock, in one order and one statement, the totals rows that writing calls with
    these values (old and new) will change: the triggers lock them statement by statement,
    so two transactions inserting then updating calls of the same days could otherwise
    take them in opposite orders and deadlock. A group not yet counted is made at zero.
    """
    if conn.dialect.name != "postgresql":
        return
    keys = {k for k in (_key(tenant_id, row) for row in rows) if k is not None}
    if not keys:
        return
    # Sorted by PostgreSQL, as the triggers sort (its collation, not Python's order); each
    # conflict locks the existing row.
    key = ", ".join(_KEY)
    await insert_rows(
        conn,
        _t,
        [{**dict(zip(_KEY, k, strict=True)), "calls": 0, "bill_sec": 0} for k in keys],
        tail=f"ORDER BY {key} ON CONFLICT ({key}) DO UPDATE SET calls = {_t.name}.calls",
    )
