"""A tenant's directories read once for a whole batch, so enriching a thousand calls
costs a handful of queries instead of four per call.

It answers exactly what `directory.store`'s lookups and the price table answer, as they
stood when it was loaded (a batch is one transaction: that is what it would see).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.db import among
from callhistory.directory.store import AgentRow, CustomerRow, TenantNumbers, tenant_numbers
from callhistory.ingest.pricing import Rate
from callhistory.phones import national
from callhistory.schema import agents, customer_phones, customers, price_rates

MAX_PHONES_PER_QUERY = 5000


@dataclass(frozen=True)
class DirectoryCache:
    numbers: TenantNumbers
    agents: dict[str, AgentRow]  # active agents by extension
    customers: dict[str, CustomerRow]  # by national number, for the numbers asked for
    rates: dict[str, Rate]  # the tenant's own, by carrier

    def agents_on(self, extensions: Sequence[str]) -> dict[str, AgentRow]:
        return {e: self.agents[e] for e in extensions if e in self.agents}

    def customer(self, number: str) -> CustomerRow | None:
        phone = national(number)
        return self.customers.get(phone) if phone else None

    def rate(self, carrier: str) -> Rate | None:
        return self.rates.get(carrier)


async def load(conn: AsyncConnection, tenant_id: str, numbers: Iterable[str]) -> DirectoryCache:
    """The tenant's numbers, agents and prices, and the customers holding `numbers`."""
    rows = await conn.execute(
        select(agents.c.id, agents.c.email, agents.c.full_name, agents.c.sip_user)
        .add_columns(agents.c.user_uuid)
        .where(
            agents.c.tenant_id == tenant_id,
            agents.c.sip_user.is_not(None),
            agents.c.active.is_(True),
        )
        .order_by(agents.c.id.desc())  # as agents_by_extension: should two share one
    )
    by_extension = {row.sip_user: AgentRow(*row) for row in rows}
    phones = sorted({p for p in (national(n) for n in numbers if n) if p})
    found: dict[str, CustomerRow] = {}
    for first in range(0, len(phones), MAX_PHONES_PER_QUERY):
        chunk = phones[first : first + MAX_PHONES_PER_QUERY]
        customer_rows = await conn.execute(
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
            .where(customer_phones.c.tenant_id == tenant_id, among(customer_phones.c.phone, chunk))
        )
        for row in customer_rows:
            found[row.phone] = CustomerRow(row.id, row.code, row.full_name, row.main_phone)
    rate_rows = await conn.execute(select(price_rates).where(price_rates.c.tenant_id == tenant_id))
    rates = {
        r.carrier: Rate(r.price_per_minute, r.first_block_sec, r.next_block_sec) for r in rate_rows
    }
    return DirectoryCache(await tenant_numbers(conn, tenant_id), by_extension, found, rates)
