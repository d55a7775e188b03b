"""What a batch of calls needs from the tenant's directories, read in one round trip, so
enriching a thousand calls (or the few legs of a shared transaction) costs one query
instead of four per call.

It answers exactly what `directory.store`'s lookups and the price table answer for the
numbers and extensions of the calls it was loaded for, as they stood when it was loaded
(a batch is one transaction: that is what it would see). Only those rows are read, so
its cost follows the batch, not the size of the tenant's directory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Text, and_, cast, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import CompoundSelect, Select

from callhistory.db import among, json_rows
from callhistory.directory.store import AgentRow, CustomerRow, TenantNumbers
from callhistory.ingest.formats.call import MergedCall
from callhistory.ingest.pricing import Rate
from callhistory.phones import national
from callhistory.schema import agents, customer_phones, customers, hotlines, price_rates, queues

MAX_VALUES_PER_QUERY = 5000  # numbers or extensions asked in one statement


@dataclass(frozen=True)
class DirectoryCache:
    # The tenant's own numbers among those asked (see `asked_numbers`): enough for every
    # membership test enrich makes on the calls the cache was loaded for.
    numbers: TenantNumbers
    agents: dict[str, AgentRow]  # active agents by extension, for the extensions asked
    customers: dict[str, CustomerRow]  # by national number, for the numbers asked
    rates: dict[str, Rate]  # the tenant's own, by carrier

    def agents_on(self, extensions: Sequence[str]) -> dict[str, AgentRow]:
        return {e: self.agents[e] for e in extensions if e in self.agents}

    def customer(self, number: str) -> CustomerRow | None:
        phone = national(number)
        return self.customers.get(phone) if phone else None

    def rate(self, carrier: str) -> Rate | None:
        return self.rates.get(carrier)


def asked_numbers(calls: Iterable[MergedCall]) -> set[str]:
    """The numbers enrich tests against the tenant's extensions, hotlines and queues: each
    call's caller and destination as written, and the national form of those and of the
    caller id it went out with."""
    asked: set[str] = set()
    for call in calls:
        written = [call.caller_number, call.destination_number]
        asked.update(n for n in written if n)
        for number in (*written, call.outbound_caller_id):
            phone = national(number) if number else None
            if phone:
                asked.add(phone)
    return asked


async def load(
    conn: AsyncConnection, tenant_id: str, calls: Sequence[MergedCall]
) -> DirectoryCache:
    """The directory rows that enriching `calls` reads."""
    asked = sorted(asked_numbers(calls))
    extensions = sorted({e for call in calls for e in call.extensions})
    phones = sorted(
        {p for call in calls for n in (call.caller_number, call.destination_number) if n
         if (p := national(n))}
    )  # fmt: skip
    found: dict[str, list[list[Any]]] = {"numbers": [], "agents": [], "customers": [], "rates": []}
    chunks = max(len(asked), len(extensions), len(phones), 1)
    for first in range(0, chunks, MAX_VALUES_PER_QUERY):
        window = slice(first, first + MAX_VALUES_PER_QUERY)
        parts = {
            "numbers": _numbers(tenant_id, asked[window]),
            "agents": _agents(tenant_id, extensions[window]),
            "customers": _customers(tenant_id, phones[window]),
            "rates": _rates(tenant_id) if first == 0 else None,
        }
        asked_parts = {name: query for name, query in parts.items() if query is not None}
        row = (await conn.execute(_as_one_row(asked_parts))).one()
        for name, text in zip(asked_parts, row, strict=True):
            found[name] += orjson.loads(text) if text else []
    return _cache(found)


def _cache(found: dict[str, list[list[Any]]]) -> DirectoryCache:
    kinds: dict[str, set[str]] = {"e": set(), "h": set(), "q": set()}
    for kind, number in found["numbers"]:
        kinds[kind].add(number)
    # In id order, descending, as agents_by_extension: should two share one extension,
    # the last written wins, the same agent as one by one.
    by_extension = {row[3]: AgentRow(*row) for row in found["agents"]}
    return DirectoryCache(
        TenantNumbers(*(frozenset(kinds[k]) for k in ("e", "h", "q"))),
        by_extension,
        {row[0]: CustomerRow(*row[1:]) for row in found["customers"]},
        {row[0]: Rate(*row[1:]) for row in found["rates"]},
    )


def _as_one_row(parts: dict[str, Select[Any] | CompoundSelect[Any]]) -> Select[Any]:
    """One row: each part's rows as a JSON array of arrays (text), or NULL / `[]` for none."""
    columns = []
    for name, query in parts.items():
        rows = query.subquery(name)
        columns.append(select(json_rows(*rows.c)).select_from(rows).scalar_subquery())
    return select(*columns)


def _numbers(tenant_id: str, asked: list[str]) -> CompoundSelect[Any] | None:
    """As directory.store.tenant_numbers, for the numbers asked."""
    if not asked:
        return None
    return union_all(
        select(cast("e", Text).label("kind"), agents.c.sip_user.label("number")).where(
            agents.c.tenant_id == tenant_id, among(agents.c.sip_user, asked)
        ),
        select(cast("h", Text), hotlines.c.number).where(
            hotlines.c.tenant_id == tenant_id, among(hotlines.c.number, asked)
        ),
        select(cast("q", Text), queues.c.number).where(
            queues.c.tenant_id == tenant_id, among(queues.c.number, asked)
        ),
    )


def _agents(tenant_id: str, extensions: list[str]) -> Select[Any] | None:
    """As directory.store.agents_by_extension."""
    if not extensions:
        return None
    return (
        select(agents.c.id, agents.c.email, agents.c.full_name, agents.c.sip_user)
        .add_columns(agents.c.user_uuid)
        .where(
            agents.c.tenant_id == tenant_id,
            among(agents.c.sip_user, extensions),
            agents.c.active.is_(True),
        )
        .order_by(agents.c.id.desc())
    )


def _customers(tenant_id: str, phones: list[str]) -> Select[Any] | None:
    """As directory.store.customer_by_phone, for each of the phones."""
    if not phones:
        return None
    return (
        select(
            customer_phones.c.phone,
            customers.c.id,
            customers.c.code,
            customers.c.full_name,
            customers.c.phone.label("main_phone"),
        )
        .join(
            customers,
            and_(
                customer_phones.c.tenant_id == customers.c.tenant_id,
                customer_phones.c.customer_id == customers.c.id,
            ),
        )
        .where(customer_phones.c.tenant_id == tenant_id, among(customer_phones.c.phone, phones))
    )


def _rates(tenant_id: str) -> Select[Any]:
    return select(
        price_rates.c.carrier,
        price_rates.c.price_per_minute,
        price_rates.c.first_block_sec,
        price_rates.c.next_block_sec,
    ).where(price_rates.c.tenant_id == tenant_id)
