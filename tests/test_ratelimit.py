"""Rate limits per key and endpoint group: in memory, shared through Redis, and
degrading to memory when Redis is down."""

from __future__ import annotations

import os
import secrets

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.app import create_app
from callhistory.ratelimit import Limits, RateLimiter
from tests.factories import make_tenant, now_ms
from tests.ingest.freeswitch_posts import document, post_leg

REDIS_URL = os.environ.get("CALLHISTORY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"


def client_for(engine: AsyncEngine, limiter: RateLimiter) -> httpx.AsyncClient:
    app = create_app(engine, rate_limiter=limiter)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def report_path() -> str:
    return f"/api/call_transaction/report?from_date={now_ms() - 1000}&to_date={now_ms()}"


async def test_over_the_limit_is_a_429_with_retry_after(engine: AsyncEngine) -> None:
    tenant, other = await make_tenant(engine), await make_tenant(engine)
    limiter = RateLimiter(Limits.parse("3/30 minutes", "0"))
    async with client_for(engine, limiter) as client:
        codes = [
            (await client.get(report_path(), headers=tenant.headers)).status_code for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        refused = await client.get(report_path(), headers=tenant.headers)
        assert refused.json()["message"] == "limit_request_30_minute"
        assert refused.json()["status_code"] == -9999
        assert 1 <= int(refused.headers["retry-after"]) <= 1800
        # Another key has its own count.
        assert (await client.get(report_path(), headers=other.headers)).status_code == 200


async def test_ingest_has_its_own_limit(engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    limiter = RateLimiter(Limits.parse("1/30 minutes", "3/30 minutes"))
    async with client_for(engine, limiter) as client:
        assert (await client.get(report_path(), headers=tenant.headers)).status_code == 200
        assert (await client.get(report_path(), headers=tenant.headers)).status_code == 429
        raw = document("local-answered-aleg")
        codes = [(await post_leg(client, tenant.api_key, raw)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]


async def _redis_reachable() -> bool:
    connection = aioredis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        return bool(await connection.ping())
    except OSError:
        return False
    except aioredis.RedisError:
        return False
    finally:
        await connection.aclose()


async def test_limits_are_shared_through_redis(engine: AsyncEngine) -> None:
    if not await _redis_reachable():
        if IN_CI:
            pytest.fail(f"Redis is required under CI=true ({REDIS_URL})")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    tenant = await make_tenant(engine)
    limits = Limits.parse("4/30 minutes", "0")
    # Two API processes: two limiters, one Redis.
    first, second = RateLimiter(limits, REDIS_URL), RateLimiter(limits, REDIS_URL)
    async with client_for(engine, first) as one, client_for(engine, second) as two:
        codes = []
        for client in (one, two, one, two, one):
            codes.append((await client.get(report_path(), headers=tenant.headers)).status_code)
    assert codes == [200, 200, 200, 200, 429]


async def test_redis_down_degrades_to_this_process(engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    closed_port = f"redis://127.0.0.1:1/{secrets.randbelow(16)}"
    limiter = RateLimiter(Limits.parse("2/30 minutes", "0"), closed_port)
    async with client_for(engine, limiter) as client:
        codes = [
            (await client.get(report_path(), headers=tenant.headers)).status_code for _ in range(3)
        ]
    assert codes == [200, 200, 429]


def test_limit_strings() -> None:
    limits = Limits.parse("3000/30 minutes", "0")
    assert limits.ingest is None
    assert limits.api is not None and limits.api.amount == 3000
    assert limits.api.get_expiry() == 1800
    assert Limits.parse("100 per second", "").api is not None
