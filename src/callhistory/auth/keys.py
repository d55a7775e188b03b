"""API keys: `ch_<tenant id>_<key id>_<secret>`, stored as a SHA-256 of the secret.

The tenant and key ids in the key let one primary-key lookup find the hash (no scan over
all tenants' keys), and keep every lookup on the tenant's shard.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Row, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from callhistory.db import new_id, now_ms
from callhistory.schema import agents, api_keys, tenants

PREFIX = "ch"


@dataclass(frozen=True)
class KeyRef:
    tenant_id: str
    key_id: str
    agent_id: str | None = None  # a key of one agent: it sees only that agent's calls
    agent_email: str | None = None  # the agent's email now (how calls name their agents)

    @property
    def scope(self) -> str | None:
        """None: the whole tenant. Else the email whose calls the key sees ("" when the
        agent has no email, or is gone from the directory: then no call)."""
        return None if self.agent_id is None else (self.agent_email or "")


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown about a key: never its secret (only a hash of it is stored)."""

    id: str
    name: str
    created_at: int
    revoked_at: int | None
    agent_email: str | None = None  # a key of one agent: that agent's email


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    time_zone: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse(api_key: str) -> tuple[KeyRef, str] | None:
    parts = api_key.strip().split("_", 3)
    if len(parts) != 4 or parts[0] != PREFIX or not all(parts[1:]):
        return None
    tenant_id, key_id, secret = parts[1], parts[2], parts[3]
    if len(tenant_id) != 24 or len(key_id) != 24:
        return None
    return KeyRef(tenant_id, key_id), secret


async def create_key(
    conn: AsyncConnection, tenant_id: str, name: str = "", agent_id: str | None = None
) -> tuple[str, str]:
    """Create a key (with `agent_id`, one that sees only that agent's calls); returns
    (key id, the full key). The full key is never stored."""
    key_id = new_id()
    secret = secrets.token_urlsafe(32)
    await conn.execute(
        api_keys.insert().values(
            tenant_id=tenant_id,
            id=key_id,
            name=name,
            key_hash=_hash(secret),
            created_at=now_ms(),
            agent_id=agent_id,
        )
    )
    return key_id, f"{PREFIX}_{tenant_id}_{key_id}_{secret}"


async def verify_key(conn: AsyncConnection, api_key: str) -> KeyRef | None:
    parsed = parse(api_key)
    if parsed is None:
        return None
    ref, secret = parsed
    row = await _key_row(conn, ref)
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _hash(secret)):
        return None
    return KeyRef(ref.tenant_id, ref.key_id, row.agent_id, row.email)


# a key and, if it is an agent's, that agent
_with_agent = api_keys.outerjoin(
    agents, and_(agents.c.tenant_id == api_keys.c.tenant_id, agents.c.id == api_keys.c.agent_id)
)


async def _key_row(conn: AsyncConnection, ref: KeyRef) -> Row[Any, Any, Any, Any] | None:
    """The key's hash and state, and its agent's email now (if it is an agent's)."""
    return (
        await conn.execute(
            select(api_keys.c.key_hash, api_keys.c.revoked_at, api_keys.c.agent_id, agents.c.email)
            .select_from(_with_agent)
            .where(api_keys.c.tenant_id == ref.tenant_id, api_keys.c.id == ref.key_id)
        )
    ).first()


async def active_key(conn: AsyncConnection, ref: KeyRef) -> KeyRef | None:
    """The key a token names, as it is now (its agent scope from the key, not the token),
    or None when it is revoked or is not that tenant's."""
    row = await _key_row(conn, ref)
    if row is None or row.revoked_at is not None:
        return None
    return KeyRef(ref.tenant_id, ref.key_id, row.agent_id, row.email)


async def agent_with_email(conn: AsyncConnection, tenant_id: str, email: str) -> str | None:
    """The id of the tenant's agent with this email (any case), for an agent's key."""
    found = await conn.scalar(
        select(agents.c.id)
        .where(agents.c.tenant_id == tenant_id, func.lower(agents.c.email) == email.strip().lower())
        .order_by(agents.c.active.desc(), agents.c.id)
        .limit(1)
    )
    return None if found is None else str(found)


async def list_keys(conn: AsyncConnection, tenant_id: str) -> list[KeyInfo]:
    """A tenant's keys, oldest first, revoked ones included."""
    rows = await conn.execute(
        select(
            api_keys.c.id,
            api_keys.c.name,
            api_keys.c.created_at,
            api_keys.c.revoked_at,
            agents.c.email,
        )
        .select_from(
            api_keys.outerjoin(
                agents,
                and_(
                    agents.c.tenant_id == api_keys.c.tenant_id, agents.c.id == api_keys.c.agent_id
                ),
            )
        )
        .where(api_keys.c.tenant_id == tenant_id)
        .order_by(api_keys.c.created_at, api_keys.c.id)
    )
    return [KeyInfo(r.id, r.name, r.created_at, r.revoked_at, r.email) for r in rows]


async def revoke_key(conn: AsyncConnection, key_id: str) -> bool:
    result = await conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now_ms())
    )
    recent.forget(key_id)
    return result.rowcount > 0


async def find_tenant(conn: AsyncConnection, name_or_id: str) -> Tenant | None:
    row = (
        await conn.execute(
            select(tenants.c.id, tenants.c.name, tenants.c.time_zone).where(
                (tenants.c.name == name_or_id) | (tenants.c.id == name_or_id)
            )
        )
    ).first()
    return Tenant(row.id, row.name, row.time_zone) if row else None


async def create_tenant(conn: AsyncConnection, name: str, time_zone: str) -> Tenant:
    tenant = Tenant(new_id(), name, time_zone)
    await conn.execute(
        tenants.insert().values(id=tenant.id, name=name, time_zone=time_zone, created_at=now_ms())
    )
    return tenant


async def tenant_time_zone(conn: AsyncConnection, tenant_id: str) -> str:
    zone = await conn.scalar(select(tenants.c.time_zone).where(tenants.c.id == tenant_id))
    return str(zone) if zone else "Asia/Ho_Chi_Minh"


Lookup = Callable[[], Awaitable[KeyRef | None]]


class RecentKeys:
    """Keys this process found valid in the last `seconds`, so a busy caller (a PBX
    posting hundreds of legs a second) does not cost a database round trip per request.

    Only answers that a key is valid are kept: an unknown or wrong key is always looked
    up. Revoking a key forgets it here at once; another process may accept it for up to
    `seconds` more (CALLHISTORY_KEY_CACHE_SECONDS; 0 looks up every request).
    """

    def __init__(self, seconds: float, capacity: int = 10_000) -> None:
        self.seconds = seconds
        self.capacity = capacity
        self._valid: dict[str, tuple[KeyRef, float]] = {}  # api key or key id -> until
        # Lookups under way: when a kept key expires under load, the requests that find
        # it gone share one lookup instead of each taking a connection for its own.
        self._pending: dict[str, asyncio.Future[KeyRef | None]] = {}
        self._forgotten = 0  # bumped by forget: a lookup begun before is not kept

    async def remembered(self, name: str, lookup: Lookup) -> KeyRef | None:
        """The kept answer for `name`, or the one lookup under way for it, or a new one."""
        ref = self.get(name)
        if ref is not None:
            return ref
        pending = self._pending.get(name)
        if pending is None:
            pending = asyncio.ensure_future(lookup())
            self._pending[name] = pending
            pending.add_done_callback(partial(self._settled, name, self._forgotten))
        # Shielded: a caller that hangs up does not cancel the others' lookup.
        return await asyncio.shield(pending)

    def _settled(self, name: str, forgotten: int, done: asyncio.Future[KeyRef | None]) -> None:
        if self._pending.get(name) is done:
            del self._pending[name]
        if done.cancelled() or done.exception() is not None or forgotten != self._forgotten:
            return
        ref = done.result()
        if ref is not None:
            self.put(name, ref)

    def get(self, name: str) -> KeyRef | None:
        found = self._valid.get(name)
        if found is None:
            return None
        if found[1] < time.monotonic():
            self._valid.pop(name, None)
            return None
        return found[0]

    def put(self, name: str, ref: KeyRef) -> None:
        if self.seconds <= 0:
            return
        if len(self._valid) >= self.capacity:
            self._valid.clear()  # crude but bounded; refilled by the next requests
        self._valid[name] = (ref, time.monotonic() + self.seconds)

    def forget(self, key_id: str) -> None:
        self._forgotten += 1
        for name in [n for n, (ref, _) in self._valid.items() if ref.key_id == key_id]:
            del self._valid[name]


recent = RecentKeys(0.0)  # configured from the settings by configure_recent_keys


def configure_recent_keys(seconds: float) -> None:
    recent.seconds = seconds
    recent._valid.clear()


async def verify_key_recent(
    engine: AsyncEngine,
    api_key: str,
    counted: Callable[[Lookup], Awaitable[KeyRef | None]] | None = None,
) -> KeyRef | None:
    """verify_key, answered from `recent` when this process verified the key lately.
    `counted` wraps the database check itself (auth/attempts.py), once per shared lookup."""

    async def lookup() -> KeyRef | None:
        async with engine.connect() as conn:
            return await verify_key(conn, api_key)

    return await recent.remembered(api_key, (lambda: counted(lookup)) if counted else lookup)


async def active_key_recent(engine: AsyncEngine, ref: KeyRef) -> KeyRef | None:
    """active_key (a token's key), answered from `recent` likewise."""

    async def lookup() -> KeyRef | None:
        async with engine.connect() as conn:
            return await active_key(conn, ref)

    # Keyed by the key and its tenant: a token naming a key of another tenant is inactive.
    return await recent.remembered(f"{ref.key_id}@{ref.tenant_id}", lookup)
