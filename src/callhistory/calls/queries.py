"""Reading calls: the filter as SQL, a page of rows, and the rows each call needs.

A page costs three statements whatever its size: the count, the page's keys, then the
page's calls, each with its agents, tags and evaluations as JSON; a call by its id, one.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.calls import parts, totals
from callhistory.calls.conditions import column_conditions
from callhistory.calls.params import CallFilter, Paging
from callhistory.calls.quality import quality_conditions
from callhistory.db import AmongParameter, among, json_rows
from callhistory.evaluations import queries as evaluation_queries
from callhistory.evaluations.queries import Evaluation
from callhistory.phones import keyword_number, looks_like_number
from callhistory.schema import CALL_OWNER, call_tags, call_users, calls, tags
from callhistory.text import fold


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(column: ColumnElement[str], needle: str) -> ColumnElement[bool]:
    return column.like(f"%{_escape_like(needle)}%", escape="\\")


def keyword_tokens(keyword: str) -> list[str]:
    """What each word of a keyword must match in `search_text`.

    A keyword that is a number as a whole ('+84 912 345') is one token of its digits, so
    every written form finds the number; otherwise each word is folded on its own.
    """
    if looks_like_number(keyword):
        return [keyword_number(keyword)]
    return [keyword_number(w) if looks_like_number(w) else fold(w) for w in keyword.split()]


def _keyword_condition(keyword: str) -> ColumnElement[bool]:
    words = [_contains(calls.c.search_text, token) for token in keyword_tokens(keyword) if token]
    # lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
    by_id = func.lower(calls.c.transaction_id).like(
        f"{_escape_like(keyword.lower())}%", escape="\\"
    )
    return or_(and_(*words), by_id) if words else by_id


def _among_calls(table: Table, tenant_id: str, f: CallFilter, *conditions: Any) -> Any:
    """The calls having a `table` row (agents, tags) of the window that meets `conditions`.

    IN, not a correlated EXISTS: the matching rows of the window are read once, through
    the index on their own column, into a set. As EXISTS, SQLite (no statistics) probed
    that same index once per call of the window: 37 s to count a month of one tag on a
    million calls, 30 ms this way.
    """
    return calls.c.transaction_id.in_(
        select(table.c.transaction_id).where(
            table.c.tenant_id == tenant_id,
            # the row's created_date is the call's: the window reads the index range
            table.c.created_date.between(f.from_ms, f.to_ms),
            *conditions,
        )
    )


def where(tenant_id: str, f: CallFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [
        calls.c.tenant_id == tenant_id,
        calls.c.created_date >= f.from_ms,
        calls.c.created_date <= f.to_ms,
        calls.c.is_deleted.is_(False),
        *column_conditions(calls, f),
        *quality_conditions(calls, f),
    ]
    if f.agents:
        conds.append(_among_calls(call_users, tenant_id, f, among(call_users.c.email, f.agents)))
    if f.user_uuids:
        on_call = _among_calls(
            call_users,
            tenant_id,
            f,
            or_(
                among(call_users.c.user_uuid, f.user_uuids),
                among(call_users.c.sip_user, f.user_uuids),
            ),
        )
        conds.append(or_(among(calls.c.sip_user, f.user_uuids), on_call))
    if f.tag_ids:
        conds.append(_among_calls(call_tags, tenant_id, f, among(call_tags.c.tag_id, f.tag_ids)))
    if f.keyword:
        conds.append(_keyword_condition(f.keyword))
    if f.agent_scope is not None:
        conds.append(_among_calls(call_users, tenant_id, f, call_users.c.email == f.agent_scope))
    return conds


def on_call(tenant_id: Any, scope: Any) -> list[ColumnElement[bool]]:
    """For one call by its id: that an agent's key may see it (the agent took part); the
    tenant and the agent as values or as parameters."""
    if scope is None:
        return []
    return [
        exists().where(
            call_users.c.tenant_id == tenant_id,
            call_users.c.transaction_id == calls.c.transaction_id,
            call_users.c.email == scope,
        )
    ]


class UserRow(NamedTuple):
    """A call_users row (all but tenant_id), as a call's view reads it."""

    transaction_id: str
    position: int
    created_date: int
    agent_id: str | None
    email: str | None
    user_uuid: str | None
    sip_user: str | None
    full_name: str
    full_name_unsigned: str
    note: str | None
    note_created_date: int | None


_USER_COLUMNS = tuple(call_users.c[name] for name in UserRow._fields)
_USER_POSITION = UserRow._fields.index("position")
# sorted as they read: each owner's tags in the order they were given
_TAG_COLUMNS = (call_tags.c.user_position, call_tags.c.position, tags.c.id, tags.c.name)


@dataclass
class CallUser:
    position: int
    row: UserRow
    tags: list[tuple[str, str]] = field(default_factory=list)  # (id, name)


@dataclass
class CallView:
    """A call with what its answer shows: its agents and every tag, by owner."""

    row: Row[Any]
    tags: list[tuple[str, str]] = field(default_factory=list)
    users: list[CallUser] = field(default_factory=list)
    evaluations: list[Evaluation] = field(default_factory=list)  # newest first


def took_part(view: CallView, scope: str | None) -> bool:
    """on_call's test for a call already read (a page of the change feed)."""
    return scope is None or any(u.row.email == scope for u in view.users)


# A keyword's matches are counted exactly up to here; past it the total is an estimate.
KEYWORD_COUNT_CAP = 10_000


@dataclass(frozen=True)
class Total:
    """A page's total: exact, or (a keyword past the cap) an estimate of at least the cap."""

    items: int
    is_estimate: bool = False


async def page_total(conn: AsyncConnection, tenant_id: str, f: CallFilter) -> Total:
    """The total a page shows: exact, except that a keyword stops counting at the cap.

    Counting every match of a common word reads every one of them (a second at 10 M
    calls); past the cap the number is the planner's estimate (PostgreSQL), never
    below the cap, or the cap itself (SQLite, which has none).
    """
    if not f.keyword:
        return Total(await count(conn, tenant_id, f))
    conds = where(tenant_id, f)
    return await _keyword_total(conn, conds, await _capped_matches(conn, conds))


async def counted_page(
    conn: AsyncConnection, tenant_id: str, f: CallFilter, paging: Paging
) -> tuple[Total, list[CallView]]:
    """A page, newest first, and the total behind it (as `page_total`).

    A keyword's matches are read once: under the cap, the statement that counts them
    also gives their keys, and the page is cut from those, where a second statement
    would read the same rows again to find the page.
    """
    if not f.keyword:
        # built once, not by each statement: building it costs more than a round trip
        conds = None if parts.usable(f) else where(tenant_id, f)
        total = Total(await count(conn, tenant_id, f, conds))
        return total, (await page(conn, tenant_id, f, paging, conds) if total.items else [])
    conds = where(tenant_id, f)
    found = await _capped_matches(conn, conds)
    total = await _keyword_total(conn, conds, found)
    if total.is_estimate:
        return total, await page(conn, tenant_id, f, paging, conds)
    # page()'s order; ties of created_date by the ids' code points (page() by the
    # database's collation, the same under C): a keyword stays on this path until its
    # matches pass the cap
    newest = sorted(found, reverse=True)
    keys = [t for _, t in newest[paging.offset : paging.offset + paging.size]]
    return total, await in_order(conn, tenant_id, keys)


async def _capped_matches(
    conn: AsyncConnection, conds: list[ColumnElement[bool]]
) -> list[tuple[int, str]]:
    """(created_date, transaction_id) of the matches, in no order, one past the cap at most."""
    query = (
        select(calls.c.created_date, calls.c.transaction_id)
        .where(*conds)
        .limit(KEYWORD_COUNT_CAP + 1)
    )
    return [(row.created_date, row.transaction_id) for row in await conn.execute(query)]


async def _keyword_total(
    conn: AsyncConnection, conds: list[ColumnElement[bool]], found: list[tuple[int, str]]
) -> Total:
    if len(found) <= KEYWORD_COUNT_CAP:
        return Total(len(found))
    estimate = await planned_rows(conn, select(literal(1)).select_from(calls).where(*conds))
    return Total(max(estimate or 0, KEYWORD_COUNT_CAP), is_estimate=True)


async def planned_rows(conn: AsyncConnection, query: Select[Any]) -> int | None:
    """PostgreSQL's estimate of the rows `query` returns; None on SQLite."""
    if conn.dialect.name != "postgresql":
        return None
    compiled = query.compile(dialect=conn.dialect)
    values = tuple(compiled.params[name] for name in compiled.positiontup or ())
    plan = await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", values)
    found = plan.scalar()
    document: Any = orjson.loads(found) if isinstance(found, str | bytes) else found
    return int(document[0]["Plan"]["Plan Rows"])


async def count(
    conn: AsyncConnection,
    tenant_id: str,
    f: CallFilter,
    conds: list[ColumnElement[bool]] | None = None,
) -> int:
    """The exact number of calls the filter selects (exports, and every filter but a keyword)."""
    from_parts = await parts.count(conn, tenant_id, f)  # agents or tags alone
    if from_parts is not None:
        return from_parts
    # exact either way: whole hours from the maintained totals where they can answer
    from_totals = await totals.count(conn, tenant_id, f)
    if from_totals is not None:
        return from_totals
    conds = where(tenant_id, f) if conds is None else conds
    total = await conn.scalar(select(func.count()).select_from(calls).where(*conds))
    return int(total or 0)


async def page(
    conn: AsyncConnection,
    tenant_id: str,
    f: CallFilter,
    paging: Paging,
    conds: list[ColumnElement[bool]] | None = None,
) -> list[CallView]:
    # The page's keys first (an index-only scan of ix_calls_live, however deep the page),
    # then only those rows in full. Two statements, not one join: the keys' statement
    # differs with every combination of filters, and each is kept prepared in every
    # pooled connection; a statement of one column is cheap to keep, one of every
    # column of calls is not. The full rows' statement is one for every filter.
    from_parts = await parts.page_keys(conn, tenant_id, f, paging)  # agents or tags alone
    if from_parts is not None:
        return await in_order(conn, tenant_id, from_parts)
    keys = await conn.execute(
        select(calls.c.transaction_id)
        .where(*(where(tenant_id, f) if conds is None else conds))
        .order_by(calls.c.created_date.desc(), calls.c.transaction_id.desc())
        .limit(paging.size)
        .offset(paging.offset)
    )
    return await in_order(conn, tenant_id, list(keys.scalars()))


async def in_order(
    conn: AsyncConnection, tenant_id: str, transaction_ids: Sequence[str]
) -> list[CallView]:
    """These calls, in this order (one gone since its id was read is left out)."""
    found = {v.row.transaction_id: v for v in await by_ids(conn, tenant_id, transaction_ids)}
    return [found[t] for t in transaction_ids if t in found]


def _with_parts(*conditions: ColumnElement[bool]) -> Select[Any]:
    """The calls `conditions` select, each with its agents, tags and evaluations as JSON
    (`json_rows`): one statement, where reading the parts on their own took three more."""
    owned = and_(tags.c.tenant_id == call_tags.c.tenant_id, tags.c.id == call_tags.c.tag_id)
    return select(
        calls,
        _of_the_call(call_users, *_USER_COLUMNS).label("parts_users"),
        _of_the_call(call_tags, *_TAG_COLUMNS, joined=(tags, owned)).label("parts_tags"),
        evaluation_queries.of_each_call(calls).label("parts_evaluations"),
    ).where(*conditions)


def _of_the_call(
    table: Table, *columns: ColumnElement[Any], joined: tuple[Table, Any] | None = None
) -> Any:
    source: Any = table if joined is None else table.join(*joined)
    return (
        select(json_rows(*columns))
        .select_from(source)
        .where(
            table.c.tenant_id == calls.c.tenant_id,
            table.c.transaction_id == calls.c.transaction_id,
        )
        .scalar_subquery()
    )


def _view(row: Row[Any]) -> CallView:
    view = CallView(row)
    users: dict[int, CallUser] = {}
    for values in sorted(_json(row.parts_users), key=lambda v: v[_USER_POSITION]):
        user = CallUser(values[_USER_POSITION], UserRow(*values))
        users[user.position] = user
        view.users.append(user)
    for owner, _position, tag_id, name in sorted(_json(row.parts_tags)):
        if owner == CALL_OWNER:
            view.tags.append((tag_id, name))
        elif owner in users:
            users[owner].tags.append((tag_id, name))
    view.evaluations = evaluation_queries.from_rows(_json(row.parts_evaluations))
    return view


def _json(text: str | None) -> list[Any]:
    return orjson.loads(text) if text else []


@functools.cache
def _one_query(scoped: bool) -> Select[Any]:
    """`one`'s statement, built once (its values are parameters)."""
    tenant: Any = bindparam("tenant_id")
    return _with_parts(
        calls.c.tenant_id == tenant,
        calls.c.transaction_id == bindparam("transaction_id"),
        calls.c.is_deleted.is_(False),
        *(on_call(tenant, bindparam("scope")) if scoped else []),
    )


async def one(
    conn: AsyncConnection, tenant_id: str, transaction_id: str, scope: str | None = None
) -> CallView | None:
    """The call, if the tenant has it (and, for an agent's key, the agent was on it)."""
    values = {"tenant_id": tenant_id, "transaction_id": transaction_id, "scope": scope}
    row = (await conn.execute(_one_query(scope is not None), values)).first()
    return None if row is None else _view(row)


_BY_IDS = _with_parts(
    calls.c.tenant_id == bindparam("tenant_id"),
    AmongParameter(calls.c.transaction_id, "transaction_ids"),
)


async def by_ids(
    conn: AsyncConnection, tenant_id: str, transaction_ids: Sequence[str]
) -> list[CallView]:
    """These calls (deleted ones too), for rewriting what they derive from their parts."""
    if not transaction_ids:
        return []
    values = {"tenant_id": tenant_id, "transaction_ids": list(transaction_ids)}
    return [_view(row) for row in await conn.execute(_BY_IDS, values)]
