"""The directories' read endpoints, paged like the call list, in the platform's shapes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.calls.params import Paging
from callhistory.db import among
from callhistory.phones import digits, looks_like_number
from callhistory.schema import (
    agents,
    customer_phones,
    customers,
    hotlines,
    price_rates,
    queues,
)
from callhistory.text import fold

Page = tuple[int, list[dict[str, Any]]]  # total items, the page's items


async def _page(
    conn: AsyncConnection, query: Select[Any], order: list[Any], paging: Paging
) -> tuple[int, list[Any]]:
    total = int(await conn.scalar(select(func.count()).select_from(query.subquery())) or 0)
    if not total:
        return 0, []
    rows = await conn.execute(query.order_by(*order).limit(paging.size).offset(paging.offset))
    return total, list(rows)


def _contains(column: Any, word: str) -> ColumnElement[bool]:
    """Case-insensitive substring; `autoescape` keeps a typed % or _ literal."""
    result: ColumnElement[bool] = func.lower(column).contains(word.lower(), autoescape=True)
    return result


def _numeric_order(column: Any) -> list[Any]:
    """Numbers in numeric order ('99' before '101'), without casting what may not be one."""
    return [func.length(column), column]


def _agent_keyword(word: str) -> ColumnElement[bool]:
    return or_(
        _contains(agents.c.full_name_unsigned, fold(word)),
        _contains(agents.c.email, word),
        _contains(agents.c.sip_user, word),
        _contains(agents.c.user_uuid, word),
    )


async def agent_page(
    conn: AsyncConnection, tenant_id: str, keyword: str | None, paging: Paging
) -> Page:
    query = select(agents).where(agents.c.tenant_id == tenant_id)
    if keyword:
        query = query.where(_agent_keyword(keyword))
    order = [func.lower(agents.c.full_name_unsigned), agents.c.id]
    total, rows = await _page(conn, query, order, paging)
    keys = ("id", "email", "full_name", "full_name_unsigned", "sip_user", "user_uuid", "active")
    return total, [{k: getattr(r, k) for k in keys} for r in rows]


async def extension_page(conn: AsyncConnection, tenant_id: str, paging: Paging) -> Page:
    """One item per agent with an extension; this store knows no public number or domain."""
    query = select(agents).where(agents.c.tenant_id == tenant_id, agents.c.sip_user.is_not(None))
    total, rows = await _page(
        conn, query, [*_numeric_order(agents.c.sip_user), agents.c.id], paging
    )
    return total, [
        {
            "sip_user": r.sip_user,
            "full_name": r.full_name,
            "agent_id": r.id,
            "email": r.email,
            "public_number": None,
            "domain": None,
        }
        for r in rows
    ]


async def hotline_page(conn: AsyncConnection, tenant_id: str, paging: Paging) -> Page:
    query = select(hotlines).where(hotlines.c.tenant_id == tenant_id)
    total, rows = await _page(conn, query, _numeric_order(hotlines.c.number), paging)
    return total, [{"number": r.number, "name": r.name, "provider": r.provider} for r in rows]


async def queue_page(conn: AsyncConnection, tenant_id: str, paging: Paging) -> Page:
    query = select(queues).where(queues.c.tenant_id == tenant_id)
    total, rows = await _page(conn, query, _numeric_order(queues.c.number), paging)
    return total, [{"group_number": r.number, "name": r.name} for r in rows]


async def price_page(conn: AsyncConnection, tenant_id: str, paging: Paging) -> Page:
    query = select(price_rates).where(price_rates.c.tenant_id == tenant_id)
    total, rows = await _page(conn, query, [price_rates.c.carrier], paging)
    return total, [
        {
            "carrier": r.carrier,
            "price_per_minute": r.price_per_minute,
            "first_block_sec": r.first_block_sec,
            "next_block_sec": r.next_block_sec,
        }
        for r in rows
    ]


def numeric_fragments(keyword: str) -> list[str]:
    """What a typed number may appear as inside a stored (national) number.

    '+84912' is stored as '0912…', so a leading 84 is also tried as 0.
    """
    typed = digits(keyword)
    found = [typed]
    if typed.startswith("84") and len(typed) > 2:
        found.append("0" + typed[2:])
    return found


def _customer_keyword(tenant_id: str, word: str) -> ColumnElement[bool]:
    matches = [
        _contains(customers.c.full_name_unsigned, fold(word)),
        _contains(customers.c.code, word),
    ]
    if looks_like_number(word):
        holds = [
            customer_phones.c.phone.contains(f, autoescape=True) for f in numeric_fragments(word)
        ]
        matches.append(
            exists().where(
                customer_phones.c.tenant_id == tenant_id,
                customer_phones.c.customer_id == customers.c.id,
                or_(*holds),
            )
        )
    return or_(*matches)


async def _phones_of(
    conn: AsyncConnection, tenant_id: str, main: dict[str, str | None]
) -> dict[str, list[str]]:
    """Each customer's numbers, the main one first, then in order."""
    rows = await conn.execute(
        select(customer_phones.c.customer_id, customer_phones.c.phone)
        .where(
            customer_phones.c.tenant_id == tenant_id,
            among(customer_phones.c.customer_id, list(main)),
        )
        .order_by(customer_phones.c.phone)
    )
    found: dict[str, list[str]] = {ident: [] for ident in main}
    for ident, phone in rows:
        found[ident].append(phone)
    return {ident: _main_first(phones, main[ident]) for ident, phones in found.items()}


def _main_first(phones: list[str], main: str | None) -> list[str]:
    return [p for p in phones if p == main] + [p for p in phones if p != main]


async def customer_page(
    conn: AsyncConnection, tenant_id: str, keyword: str | None, paging: Paging
) -> Page:
    query = select(customers).where(customers.c.tenant_id == tenant_id)
    if keyword:
        query = query.where(_customer_keyword(tenant_id, keyword))
    order = [func.lower(customers.c.full_name_unsigned), customers.c.id]
    total, rows = await _page(conn, query, order, paging)
    phones = await _phones_of(conn, tenant_id, {r.id: r.phone for r in rows}) if rows else {}
    keys = ("id", "code", "full_name", "full_name_unsigned")
    return total, [{**{k: getattr(r, k) for k in keys}, "phones": phones[r.id]} for r in rows]
