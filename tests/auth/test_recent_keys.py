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


async def test_requests_that_find_a_key_gone_share_one_lookup() -> None:
    recent = keys.RecentKeys(60)
    ref = keys.KeyRef("t1", "k1")
    lookups = 0
    release = asyncio.Event()

    async def lookup() -> keys.KeyRef | None:
        nonlocal lookups
        lookups += 1
        await release.wait()
        return ref

    waiting = [asyncio.create_task(recent.remembered("key", lookup)) for _ in range(25)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiting) == [ref] * 25
    assert lookups == 1
    assert recent.get("key") == ref  # and kept for the next ones


async def test_a_failed_lookup_fails_its_waiters_and_is_not_kept() -> None:
    recent = keys.RecentKeys(60)

    async def lookup() -> keys.KeyRef | None:
        await asyncio.sleep(0)
        raise ConnectionError("database down")

    waiting = [asyncio.create_task(recent.remembered("key", lookup)) for _ in range(3)]
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert recent.get("key") is None and not recent._pending


async def test_a_key_revoked_during_its_lookup_is_not_kept() -> None:
    recent = keys.RecentKeys(60)
    ref = keys.KeyRef("t1", "k1")
    release = asyncio.Event()

    async def lookup() -> keys.KeyRef | None:
        await release.wait()
        return ref  # read before the revocation committed

    waiting = asyncio.create_task(recent.remembered("key", lookup))
    await asyncio.sleep(0)
    recent.forget("k1")
    release.set()
    assert await waiting == ref  # this request raced the revocation
    assert recent.get("key") is None  # the next one looks again


async def test_a_caller_that_hangs_up_does_not_cancel_the_others_lookup() -> None:
    recent = keys.RecentKeys(60)
    ref = keys.KeyRef("t1", "k1")
    release = asyncio.Event()

    async def lookup() -> keys.KeyRef | None:
        await release.wait()
        return ref

    first = asyncio.create_task(recent.remembered("key", lookup))
    second = asyncio.create_task(recent.remembered("key", lookup))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert await second == ref
