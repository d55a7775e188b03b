"""Building tenants, keys, agents and calls for tests, straight into the store."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth import keys
from callhistory.calls.store import search_text, tag_ids_for
from callhistory.db import new_id
from callhistory.phones import national
from callhistory.schema import CALL_OWNER, agents, call_tags, call_users, calls
from callhistory.text import unsigned

DAY_MS = 86_400_000


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Agent:
    id: str
    email: str
    full_name: str
    sip_user: str
    user_uuid: str


@dataclass
class Tenant:
    id: str
    name: str
    api_key: str
    key_id: str
    agents: list[Agent] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key}


async def make_tenant(engine: AsyncEngine, prefix: str = "t") -> Tenant:
    name = f"{prefix}-{secrets.token_hex(4)}"
    async with engine.begin() as conn:
        tenant = await keys.create_tenant(conn, name, "Asia/Ho_Chi_Minh")
        key_id, api_key = await keys.create_key(conn, tenant.id, "test")
    return Tenant(tenant.id, name, api_key, key_id)


async def add_agent(
    engine: AsyncEngine, tenant: Tenant, full_name: str, sip_user: str, email: str | None = None
) -> Agent:
    agent = Agent(
        new_id(),
        (email or f"{sip_user}@example.vn").lower(),
        full_name,
        sip_user,
        f"NV{sip_user}",
    )
    async with engine.begin() as conn:
        await conn.execute(
            agents.insert().values(
                tenant_id=tenant.id,
                id=agent.id,
                email=agent.email,
                full_name=full_name,
                full_name_unsigned=unsigned(full_name),
                sip_user=sip_user,
                user_uuid=agent.user_uuid,
            )
        )
    tenant.agents.append(agent)
    return agent


async def add_call(
    engine: AsyncEngine,
    tenant: Tenant,
    *,
    created_date: int | None = None,
    direction: str = "inbound",
    disposition: str = "answered",
    source_number: str = "0912345678",
    destination_number: str = "19001234",
    agents_on_call: list[Agent] | None = None,
    customer_name: str | None = None,
    note: str | None = None,
    tags: list[str] | None = None,
    transaction_id: str | None = None,
    **columns: Any,
) -> str:
    """One call with its agents and tags, written as ingest would write it."""
    transaction_id = transaction_id or str(uuid.uuid4())
    created = created_date if created_date is not None else now_ms() - DAY_MS
    on_call = agents_on_call or []
    bill_sec = columns.pop("bill_sec", 60 if disposition == "answered" else 0)
    hotline = columns.pop(
        "hotline", destination_number if direction == "inbound" else source_number
    )
    row = {
        "tenant_id": tenant.id,
        "transaction_id": transaction_id,
        "id": new_id(),
        "created_date": created,
        "last_updated_date": created + 1000,
        "direction": direction,
        "disposition": disposition,
        "source_number": source_number,
        "destination_number": destination_number,
        "sip_user": on_call[0].sip_user if on_call else None,
        "hotline": national(hotline) if hotline else None,
        "bill_sec": bill_sec,
        "duration": bill_sec + 5,
        "customer_name": customer_name,
        "note": note,
        "search_text": search_text(
            [source_number, destination_number],
            [customer_name, *(a.full_name for a in on_call)],
            [note],
            tags or [],
        ),
        **columns,
    }
    async with engine.begin() as conn:
        await conn.execute(calls.insert().values(**row))
        for position, agent in enumerate(on_call):
            await conn.execute(
                call_users.insert().values(
                    tenant_id=tenant.id,
                    transaction_id=transaction_id,
                    position=position,
                    created_date=created,
                    agent_id=agent.id,
                    email=agent.email,
                    user_uuid=agent.user_uuid,
                    sip_user=agent.sip_user,
                    full_name=agent.full_name,
                    full_name_unsigned=unsigned(agent.full_name),
                )
            )
        tag_ids = await tag_ids_for(conn, tenant.id, tags or [])
        for position, tag_id in enumerate(tag_ids):
            await conn.execute(
                call_tags.insert().values(
                    tenant_id=tenant.id,
                    transaction_id=transaction_id,
                    user_position=CALL_OWNER,
                    tag_id=tag_id,
                    position=position,
                    created_date=created,
                )
            )
    return transaction_id


def window(days_back: int = 29) -> dict[str, int]:
    now = now_ms()
    return {"from_date": now - days_back * DAY_MS, "to_date": now}
