"""Exact counts and report totals of a window from the per-hour totals (both stores).

`call_hour_totals` holds the live calls per tenant, UTC hour and (direction,
disposition, is_auto_call), in all and under each hotline, queue and sip_user a call
has, kept exact by triggers on `calls` in the writer's own transaction (migration 0017).
A window [from, to] sums its whole UTC hours there and counts only what falls outside
them (at most an hour at each end) in `calls` itself, through ix_calls_live. Filters the
totals do not carry (agents, user ids, tags, keyword, an agent's scope, the quality
filters, or two of hotline, queue and sip_user together) count the calls themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.calls import quality
from callhistory.calls.conditions import LISTED, column_conditions
from callhistory.calls.params import HOUR_MS, CallFilter, whole_hours
from callhistory.db import among
from callhistory.rows import insert_rows
from callhistory.schema import TOTALS_DIMENSIONS, call_hour_totals, calls

_t = call_hour_totals
# Each dimension's filter field (the list's filters by the same columns).
_FILTERS = {column: name for name, column in LISTED if column in TOTALS_DIMENSIONS}
_KEY = tuple(c.name for c in _t.primary_key.columns)


def dimension_of(f: CallFilter) -> str | None:
    """The totals' dimension that answers this filter ('' for none), or None if none can."""
    if (
        f.agents
        or f.user_uuids
        or f.tag_ids
        or f.keyword
        or f.agent_scope is not None
        or quality.is_set(f)
    ):
        return None
    named = [d for d in TOTALS_DIMENSIONS if getattr(f, _FILTERS[d])]
    return named[0] if len(named) == 1 else ("" if not named else None)


def _totals_where(
    tenant_id: str, f: CallFilter, dimension: str, first: int, end: int
) -> list[ColumnElement[bool]]:
    values = getattr(f, _FILTERS[dimension]) if dimension else [""]
    conds = [
        _t.c.tenant_id == tenant_id,
        _t.c.dimension == dimension,
        among(_t.c.value, values),
        _t.c.hour >= first,
        _t.c.hour < end,
    ]
    if f.directions:
        conds.append(among(_t.c.direction, f.directions))
    if f.dispositions:
        conds.append(among(_t.c.disposition, f.dispositions))
    if f.is_auto_call is not None:
        conds.append(_t.c.is_auto_call.is_(f.is_auto_call))
    return conds


class _Split(NamedTuple):
    kept: list[ColumnElement[bool]]  # the totals' rows of the window's whole hours
    edges: list[list[ColumnElement[bool]]]  # the calls outside them, each edge a range


def _split(tenant_id: str, f: CallFilter) -> _Split | None:
    hours, dimension = whole_hours(f), dimension_of(f)
    if hours is None or dimension is None:
        return None
    first, end = hours
    # Each edge its own range: with the window's bounds and the edge's both given,
    # SQLite bounded its index scan by the window's and read the whole month.
    ranges = [(f.from_ms, first - 1), (end, f.to_ms)]
    edges = [_calls_between(tenant_id, f, lo, hi) for lo, hi in ranges if lo <= hi]
    return _Split(_totals_where(tenant_id, f, dimension, first, end), edges)


def _calls_between(tenant_id: str, f: CallFilter, lo: int, hi: int) -> list[ColumnElement[bool]]:
    """The calls `f` selects between lo and hi: only column filters, as dimension_of says."""
    return [
        calls.c.tenant_id == tenant_id,
        calls.c.created_date >= lo,
        calls.c.created_date <= hi,
        calls.c.is_deleted.is_(False),
        *column_conditions(calls, f),
    ]


async def count(conn: AsyncConnection, tenant_id: str, f: CallFilter) -> int | None:
    """The exact number of calls `f` selects, or None when the totals cannot say."""
    split = _split(tenant_id, f)
    if split is None:
        return None
    whole = select(func.coalesce(func.sum(_t.c.calls), 0)).where(*split.kept)
    edges = [select(func.count()).select_from(calls).where(*edge) for edge in split.edges]
    found = await conn.scalar(
        select(sum((e.scalar_subquery() for e in edges), start=whole.scalar_subquery()))
    )
    return int(found or 0)


async def by_direction_and_disposition(
    conn: AsyncConnection, tenant_id: str, f: CallFilter
) -> dict[tuple[str, str], tuple[int, int]] | None:
    """(direction, disposition) -> (calls, summed bill_sec), or None as `count`."""
    split = _split(tenant_id, f)
    if split is None:
        return None
    whole = select(
        _t.c.direction, _t.c.disposition, _t.c.calls.label("n"), _t.c.bill_sec.label("b")
    ).where(*split.kept)
    edges = [
        select(
            calls.c.direction, calls.c.disposition, literal(1).label("n"), calls.c.bill_sec
        ).where(*edge)
        for edge in split.edges
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


def fresh_totals() -> Select[Any]:
    """call_hour_totals as counted afresh from the calls, in its columns' order."""
    hour = (calls.c.created_date - calls.c.created_date % HOUR_MS).label("hour")
    common = (hour, calls.c.direction, calls.c.disposition, calls.c.is_auto_call, calls.c.bill_sec)
    live = calls.c.is_deleted.is_(False)
    contributions = union_all(
        select(calls.c.tenant_id, literal("").label("dimension"), literal("").label("value"),
               *common).where(live),
        *(
            select(calls.c.tenant_id, literal(d), calls.c[d], *common)
            .where(live, calls.c[d].is_not(None))
            for d in TOTALS_DIMENSIONS
        ),
    ).subquery()  # fmt: skip
    key = [contributions.c[name] for name in _KEY]
    return select(
        *key, func.count(), func.coalesce(func.sum(contributions.c.bill_sec), 0)
    ).group_by(*key)


def _keys(tenant_id: str, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The totals rows a call with these values counts in (none for a row calls refuses)."""
    created = values.get("created_date")
    direction, disposition, auto = (
        values.get(n) for n in ("direction", "disposition", "is_auto_call")
    )
    if created is None or direction is None or disposition is None or auto is None:
        return []
    rest = (created - created % HOUR_MS, direction, disposition, bool(auto))
    keys = [(tenant_id, "", "", *rest)]
    keys += [
        (tenant_id, d, v, *rest) for d in TOTALS_DIMENSIONS if (v := values.get(d)) is not None
    ]
    return keys


async def lock_groups(
    conn: AsyncConnection, tenant_id: str, rows: Iterable[Mapping[str, Any]]
) -> None:
    """Lock, in one order and one statement, the totals rows that writing calls with
    these values (old and new) will change: the triggers lock them statement by statement,
    so two transactions inserting then updating calls of the same hours could otherwise
    take them in opposite orders and deadlock. A group not yet counted is made at zero.
    (SQLite has one writer at a time.)
    """
    if conn.dialect.name != "postgresql":
        return
    keys = {k for row in rows for k in _keys(tenant_id, row)}
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
