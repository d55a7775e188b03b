"""A process trusts a key it has just checked for CALLHISTORY_KEY_CACHE_SECONDS, no longer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth import keys
from callhistory.schema import api_keys
from tests.factories import Tenant, make_tenant


@pytest.fixture
def restore_key_cache() -> Iterator[None]:
    before = keys.recent.seconds
    yield
    keys.configure_recent_keys(before)


async def _status(client: httpx.AsyncClient, tenant: Tenant) -> int:
    answer = await client.get("/api/cdr/rejections", headers={"x-api-key": tenant.api_key})
    return answer.status_code


async def _revoked_elsewhere(engine: AsyncEngine, tenant: Tenant) -> None:
    """As another process revokes: this process's memory is not told."""
    async with engine.begin() as conn:
        await conn.execute(
            update(api_keys).where(api_keys.c.id == tenant.key_id).values(revoked_at=1)
        )


async def test_revoking_here_stops_the_key_at_once(
    engine: AsyncEngine, client: httpx.AsyncClient, restore_key_cache: None
) -> None:
    keys.configure_recent_keys(60)
    tenant = await make_tenant(engine)
    assert await _status(client, tenant) == 200  # now trusted for a minute
    async with engine.begin() as conn:
        assert await keys.revoke_key(conn, tenant.key_id)
    assert await _status(client, tenant) == 401


async def test_a_key_revoked_elsewhere_stops_within_the_cache_time(
    engine: AsyncEngine, client: httpx.AsyncClient, restore_key_cache: None
) -> None:
    keys.configure_recent_keys(0.5)
    tenant = await make_tenant(engine)
    assert await _status(client, tenant) == 200
    await _revoked_elsewhere(engine, tenant)
    assert await _status(client, tenant) == 200  # still trusted here, for a moment
    await asyncio.sleep(0.6)
    assert await _status(client, tenant) == 401


async def test_zero_checks_every_request(
    engine: AsyncEngine, client: httpx.AsyncClient, restore_key_cache: None
) -> None:
    keys.configure_recent_keys(0)
    tenant = await make_tenant(engine)
    assert await _status(client, tenant) == 200
    await _revoked_elsewhere(engine, tenant)
    assert await _status(client, tenant) == 401


def test_the_memory_is_bounded() -> None:
    recent = keys.RecentKeys(60, capacity=3)
    refs = [keys.KeyRef(f"t{i}", f"k{i}") for i in range(5)]
    for i, ref in enumerate(refs):
        recent.put(f"key{i}", ref)
    assert len(recent._valid) <= 3
    assert recent.get("key4") == refs[4]
