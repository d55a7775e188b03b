"""Every storage test runs on SQLite and on PostgreSQL, each in a database made for the run.

PostgreSQL comes from CALLHISTORY_TEST_POSTGRES_URL (default: the local server, user
postgres). Where it cannot be reached the PostgreSQL half is skipped, except under
CI=true, where that is a failure: CI must prove both stores.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.app import create_app
from callhistory.auth.attempts import AttemptLimits, Attempts
from callhistory.config import get_settings
from callhistory.db import create_engine, migrate
from callhistory.ratelimit import Limits, RateLimiter
from callhistory.webhooks import targets

POSTGRES_ADMIN_URL = os.environ.get(
    "CALLHISTORY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
SHARED = Path(__file__).resolve().parents[2] / "shared"


PUBLIC_ADDRESS = "93.184.215.14"


@pytest.fixture(autouse=True)
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every host name a test registers a webhook to resolves to one public address: no
    test asks the real DNS (tests/webhooks/test_targets.py sets its own answers)."""

    async def resolve(host: str, port: int) -> list[str]:
        return [PUBLIC_ADDRESS]

    monkeypatch.setattr(targets, "resolver", resolve)


def _postgres_unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL is required under CI=true: {reason}")
    pytest.skip(f"PostgreSQL not reachable: {reason}")


@pytest.fixture
def postgres_admin_url() -> str:
    """The admin URL of a PostgreSQL server that answers, for tests that run a benchmark
    against it in a subprocess (skipped where absent, failed under CI=true)."""

    async def reachable() -> None:
        await (await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)).close()

    try:
        asyncio.run(reachable())
    except (OSError, asyncpg.PostgresError) as exc:
        _postgres_unavailable(str(exc))
    return POSTGRES_ADMIN_URL


async def _admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        _postgres_unavailable(str(exc))
        raise


async def _postgres_database() -> AsyncIterator[str]:
    name = f"callhistory_test_{secrets.token_hex(6)}"
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin = await _admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'callhistory.db'}"
        return
    async for url in _postgres_database():
        yield url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await migrate(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def configured(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The run's database as CALLHISTORY_DATABASE_URL, for code that reads the settings
    (the CLI): the settings are read again before and after."""
    monkeypatch.setenv("CALLHISTORY_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


@pytest.fixture(scope="session")
async def client(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    # Unlimited: suites make thousands of requests with one key, and many wrong ones from
    # one address; tests/test_ratelimit.py and tests/auth/test_attempts.py build their own
    # limited apps.
    limiter = RateLimiter(Limits(api=None, ingest=None))
    app = create_app(engine, rate_limiter=limiter)
    app.state.auth_attempts = Attempts(AttemptLimits(per_ip=None, per_account=None), limiter.stores)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
