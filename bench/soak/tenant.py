"""The soak's one tenant: seeded with the demo generator (`Picks`, what requests are
made of), and the `Ledger` of the calls and legs this run sent and had acknowledged."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.db import create_engine, migrate, now_ms
from callhistory.demo import generate
from callhistory.schema import agents, calls, customers, hotlines, queues

DAY_MS = 86_400_000
TENANT = "soak"


@dataclass
class Picks:
    """What requests are made of: the seeded tenant's directory and calls."""

    tenant_id: str
    api_key: str
    agent_emails: list[str]
    user_uuids: list[str]
    extensions: list[str]
    hotlines: list[str]
    queues: list[str]
    names: list[str]  # customers' full names, for keywords
    phones: list[str]
    seeded: set[str]  # every seeded transaction id
    recent: list[str]  # seeded ids of the last 30 days


async def seed_tenant(url: str, calls_wanted: int, seed: int) -> Picks:
    """A migrated database with the demo tenant of `calls_wanted` calls, analysed; what
    requests can be made of."""
    engine = create_engine(url)
    try:
        await migrate(engine)
        result = await generate(engine, TENANT, calls_wanted, seed, progress=False)
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))  # as autovacuum would have, on a live one
        return await read_picks(engine, result.api_key)
    finally:
        await engine.dispose()


async def read_picks(engine: AsyncEngine, api_key: str) -> Picks:
    """The seeded tenant's directory and calls, as requests draw on them."""
    async with engine.connect() as conn:
        tenant_id = await conn.scalar(
            text("SELECT id FROM tenants WHERE name = :name"), {"name": TENANT}
        )
        people = (
            await conn.execute(
                select(agents.c.email, agents.c.user_uuid, agents.c.sip_user).where(
                    agents.c.tenant_id == tenant_id
                )
            )
        ).all()
        numbers = (
            await conn.scalars(select(hotlines.c.number).where(hotlines.c.tenant_id == tenant_id))
        ).all()
        groups = (
            await conn.scalars(select(queues.c.number).where(queues.c.tenant_id == tenant_id))
        ).all()
        known = (
            await conn.execute(
                select(customers.c.full_name, customers.c.phone)
                .where(customers.c.tenant_id == tenant_id)
                .order_by(customers.c.id)
                .limit(200)
            )
        ).all()
        rows = (
            await conn.execute(
                select(calls.c.transaction_id, calls.c.created_date).where(
                    calls.c.tenant_id == tenant_id
                )
            )
        ).all()
    since = now_ms() - 30 * DAY_MS
    return Picks(
        tenant_id=str(tenant_id),
        api_key=api_key,
        agent_emails=[p.email for p in people if p.email],
        user_uuids=[p.user_uuid for p in people if p.user_uuid],
        extensions=[p.sip_user for p in people if p.sip_user],
        hotlines=list(numbers),
        queues=list(groups),
        names=[k.full_name for k in known],
        phones=[k.phone for k in known if k.phone],
        seeded={r.transaction_id for r in rows},
        recent=[r.transaction_id for r in rows if r.created_date >= since],
    )


@dataclass
class Ledger:
    sent_calls: set[str] = field(default_factory=set)  # every call id a leg or item named
    acked_legs: dict[str, str] = field(default_factory=dict)  # leg uuid -> call id
    acked_leg_calls: set[str] = field(default_factory=set)
    acked_items: set[str] = field(default_factory=set)
    sent_legs: int = 0
    sent_items: int = 0
