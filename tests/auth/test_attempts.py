"""Guessing limits (auth/attempts.py): wrong credentials counted per client address and
per account at `GET /api/auth`, the dashboard sign-in and the FreeSWITCH ingest's HTTP
Basic auth; at the limit 429 `too_many_attempts` with Retry-After, a right credential
refused too; in memory, and shared by two app instances through Redis.

Each test signs in from addresses of its own (random in 10/8), with tenants of its own,
so counts kept in Redis by other tests or earlier runs never meet its own.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.app import create_app
from callhistory.config import Settings, get_settings
from callhistory.dashboard import users
from callhistory.ingest import rejections
from callhistory.ratelimit import Limits, RateLimiter
from callhistory.schema import NO_TENANT
from tests.factories import Tenant, make_tenant
from tests.ingest.freeswitch_posts import document, post_leg

REDIS_URL = os.environ.get("CALLHISTORY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "correct horse battery"
CSRF = "test-csrf-token"
DOORS = ("api_auth", "signin", "ingest")

Attempt = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str], None]]:
    """Sets CALLHISTORY_AUTH_FAILURES_PER_IP and _PER_ACCOUNT for the apps made after."""

    def set_limits(per_ip: str, per_account: str) -> None:
        monkeypatch.setenv("CALLHISTORY_AUTH_FAILURES_PER_IP", per_ip)
        monkeypatch.setenv("CALLHISTORY_AUTH_FAILURES_PER_ACCOUNT", per_account)
        get_settings.cache_clear()

    yield set_limits
    get_settings.cache_clear()


def an_ip() -> str:
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def make_app(engine: AsyncEngine, redis_url: str = "") -> FastAPI:
    # Rate limits off: only the guessing limits are under test.
    return create_app(engine, rate_limiter=RateLimiter(Limits(None, None), redis_url))


@asynccontextmanager
async def calling_from(app: FastAPI, ip: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 50123))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@dataclass
class Door:
    """One entry point with a right credential and wrong ones (`wrong(n)`: the n-th)."""

    name: str
    tenant: Tenant
    right: Attempt
    wrong: Callable[[int], Attempt]
    wrong_shares_right_account: bool  # are wrong ones counted on the right one's account?

    def refused(self, answer: httpx.Response, window: int) -> None:
        assert answer.status_code == 429, answer.text
        assert 1 <= int(answer.headers["retry-after"]) <= window
        if self.name == "signin":
            assert answer.headers["content-type"].startswith("text/html")
            assert "Too many failed sign-ins" in answer.text
            assert 'id="signin-password"' in answer.text  # the form, to try again later
            return
        body = answer.json()
        assert body["status_code"] == -9999
        assert body["message"] == "too_many_attempts"
        assert body["payload"] is None

    def failed(self, answer: httpx.Response) -> None:
        assert answer.status_code == 401, answer.text

    def passed(self, answer: httpx.Response) -> None:
        assert answer.status_code == (303 if self.name == "signin" else 200), answer.text


async def _sign_in(http: httpx.AsyncClient, **fields: str) -> httpx.Response:
    http.cookies.clear()
    http.cookies.set("ch_csrf", CSRF)
    http.cookies.set("ch_lang", "en")
    return await http.post("/signin", data={"csrf": CSRF, "next": "/calls", **fields})


async def make_door(name: str, engine: AsyncEngine) -> Door:
    tenant = await make_tenant(engine, "guess")
    leg = document("local-answered-aleg")

    if name == "api_auth":

        def wrong_key(n: int) -> Attempt:
            # The tenant's and key's ids with a wrong secret: counted on that key's account.
            forged = f"ch_{tenant.id}_{tenant.key_id}_wrong{n}"
            return lambda http: http.get("/api/auth", params={"apiKey": forged})

        return Door(
            name,
            tenant,
            lambda http: http.get("/api/auth", params={"apiKey": tenant.api_key}),
            wrong_key,
            wrong_shares_right_account=True,
        )
    if name == "signin":
        email = f"sup-{secrets.token_hex(3)}@example.vn"
        async with engine.begin() as conn:
            await users.create(conn, tenant.id, email, PASSWORD)

        def wrong_password(n: int) -> Attempt:
            return lambda http: _sign_in(
                http, tenant=tenant.name, email=email, password=f"wrong {n}"
            )

        return Door(
            name,
            tenant,
            lambda http: _sign_in(http, tenant=tenant.name, email=email.upper(), password=PASSWORD),
            wrong_password,
            wrong_shares_right_account=True,
        )

    def wrong_ingest_key(n: int) -> Attempt:
        return lambda http: post_leg(http, f"ch_{tenant.id}_{tenant.key_id}_wrong{n}", leg)

    return Door(
        name,
        tenant,
        lambda http: post_leg(http, tenant.api_key, leg),
        wrong_ingest_key,
        wrong_shares_right_account=False,  # ingest counts the presented key's hash
    )


@pytest.mark.parametrize("name", DOORS)
async def test_failures_then_429_even_for_the_right_credential(
    engine: AsyncEngine, limits: Callable[[str, str], None], name: str
) -> None:
    limits("3/5 minutes", "100/15 minutes")
    door = await make_door(name, engine)
    app = make_app(engine)
    async with calling_from(app, an_ip()) as guesser, calling_from(app, an_ip()) as other:
        for n in range(3):
            door.failed(await door.wrong(n)(guesser))
        door.refused(await door.wrong(3)(guesser), 300)
        door.refused(await door.right(guesser), 300)  # blocked: not even checked
        # Another address has its own count.
        door.passed(await door.right(other))
        door.failed(await door.wrong(4)(other))


@pytest.mark.parametrize("name", DOORS)
async def test_successes_count_nothing_and_reset_no_other_address(
    engine: AsyncEngine, limits: Callable[[str, str], None], name: str
) -> None:
    limits("3/5 minutes", "100/15 minutes")
    door = await make_door(name, engine)
    app = make_app(engine)
    async with calling_from(app, an_ip()) as a, calling_from(app, an_ip()) as b:
        door.failed(await door.wrong(0)(b))
        door.failed(await door.wrong(1)(b))
        door.failed(await door.wrong(2)(a))
        for _ in range(5):  # more than the limit: successes are not counted
            door.passed(await door.right(a))
        door.failed(await door.wrong(3)(b))  # b's two failures still count: the third
        door.refused(await door.wrong(4)(b), 300)
        door.failed(await door.wrong(5)(a))  # nor did a's successes reset its own
        door.failed(await door.wrong(6)(a))
        door.refused(await door.right(a), 300)


@pytest.mark.parametrize("name", DOORS)
async def test_the_account_limit_holds_across_addresses(
    engine: AsyncEngine, limits: Callable[[str, str], None], name: str
) -> None:
    limits("100/5 minutes", "3/15 minutes")
    door = await make_door(name, engine)
    app = make_app(engine)

    def guess(n: int) -> Attempt:  # ingest's account is the presented key: the same one
        return door.wrong(n if door.wrong_shares_right_account else 0)

    for n in range(3):
        async with calling_from(app, an_ip()) as http:
            door.failed(await guess(n)(http))
    async with calling_from(app, an_ip()) as fresh:
        door.refused(await guess(3)(fresh), 900)
        if door.wrong_shares_right_account:
            door.refused(await door.right(fresh), 900)
        else:
            # The key's hash is its account: guessing near a PBX's key cannot lock it out.
            door.passed(await door.right(fresh))
            door.failed(await door.wrong(7)(fresh))


async def test_concurrent_guesses_cannot_pass_a_count_one_short(
    engine: AsyncEngine, limits: Callable[[str, str], None]
) -> None:
    limits("3/5 minutes", "100/15 minutes")
    door = await make_door("api_auth", engine)
    async with calling_from(make_app(engine), an_ip()) as http:
        answers = await asyncio.gather(*(door.wrong(n)(http) for n in range(12)))
    assert sorted(a.status_code for a in answers) == [401] * 3 + [429] * 9


@pytest.mark.parametrize("cache_seconds", ["1", "0"])
@pytest.mark.parametrize("name", ["api_auth", "ingest"])
async def test_concurrent_right_keys_fill_no_count(
    engine: AsyncEngine,
    limits: Callable[[str, str], None],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    cache_seconds: str,
) -> None:
    """A PBX posts dozens of legs at once with its one key: the requests that share a
    database check take one slot together, and a key just found right takes none."""
    monkeypatch.setenv("CALLHISTORY_KEY_CACHE_SECONDS", cache_seconds)
    limits("3/5 minutes", "3/15 minutes")
    door = await make_door(name, engine)
    async with calling_from(make_app(engine), an_ip()) as http:
        for _ in range(3):  # the first burst finds no key in memory, the next ones do
            for answer in await asyncio.gather(*(door.right(http) for _ in range(30))):
                door.passed(answer)
        door.failed(await door.wrong(1)(http))  # the counts still count


async def test_sign_in_counts_unknown_accounts_alike(
    engine: AsyncEngine, limits: Callable[[str, str], None]
) -> None:
    limits("100/5 minutes", "2/15 minutes")
    door = await make_door("signin", engine)
    app = make_app(engine)
    unknown = {"email": "nobody@example.vn", "password": "x" * 12}
    async with calling_from(app, an_ip()) as http:
        for tenant in (door.tenant.name, "no-such-tenant"):
            door.failed(await _sign_in(http, tenant=tenant, **unknown))
            door.failed(await _sign_in(http, tenant=tenant, **unknown))
            door.refused(await _sign_in(http, tenant=tenant, **unknown), 900)
        # The tenant by its id or its name is one account.
        door.failed(await door.wrong(0)(http))
        refused = await _sign_in(http, tenant=door.tenant.id, email=unknown["email"], password="y")
        door.refused(refused, 900)


async def test_sign_in_with_a_key_is_counted_on_the_key(
    engine: AsyncEngine, limits: Callable[[str, str], None]
) -> None:
    limits("100/5 minutes", "2/15 minutes")
    tenant = await make_tenant(engine)
    door = await make_door("signin", engine)
    app = make_app(engine)
    forged = f"ch_{tenant.id}_{tenant.key_id}_wrong"
    async with calling_from(app, an_ip()) as http:
        door.failed(await _sign_in(http, api_key=forged))
        door.failed(await _sign_in(http, api_key=forged + "2"))
        door.refused(await _sign_in(http, api_key=tenant.api_key), 900)
        door.passed(await door.right(http))  # a password account is another account


async def test_the_dashboard_says_it_in_the_reader_language(
    engine: AsyncEngine, limits: Callable[[str, str], None]
) -> None:
    limits("1/5 minutes", "100/15 minutes")
    door = await make_door("signin", engine)
    async with calling_from(make_app(engine), an_ip()) as http:
        door.failed(await door.wrong(0)(http))
        http.cookies.clear()
        http.cookies.set("ch_csrf", CSRF)
        answer = await http.post("/signin", data={"csrf": CSRF, "api_key": "ch_x"})
    assert answer.status_code == 429
    assert "Quá nhiều lần đăng nhập sai" in answer.text
    assert answer.headers["content-security-policy"]  # still a dashboard page


async def test_a_blocked_ingest_post_is_kept_for_replay(
    engine: AsyncEngine, limits: Callable[[str, str], None]
) -> None:
    limits("1/5 minutes", "100/15 minutes")
    door = await make_door("ingest", engine)
    marker = secrets.token_hex(8)
    async with calling_from(make_app(engine), an_ip()) as http:
        door.failed(await door.wrong(0)(http))
        answer = await http.post(
            f"/api/cdr/freeswitch?uuid={marker}",
            content=document("local-answered-aleg"),
            headers={"content-type": "application/json"},
            auth=("freeswitch", door.tenant.api_key),
        )
    door.refused(answer, 300)
    assert "www-authenticate" not in answer.headers
    async with engine.connect() as conn:
        kept = await rejections.recent(conn, NO_TENANT, 500)
    assert [r.reason for r in kept if marker in r.query] == ["too_many_attempts"]


async def test_an_ipv6_host_counts_as_its_64(
    engine: AsyncEngine, limits: Callable[[str, str], None]
) -> None:
    limits("2/5 minutes", "100/15 minutes")
    door = await make_door("api_auth", engine)
    prefix = f"2001:db8:{secrets.randbelow(65536):x}:{secrets.randbelow(65536):x}"
    app = make_app(engine)
    async with calling_from(app, f"{prefix}::1") as one, calling_from(app, f"{prefix}::2") as two:
        door.failed(await door.wrong(0)(one))
        door.failed(await door.wrong(1)(two))
        door.refused(await door.right(one), 300)
    async with calling_from(app, f"2001:db8:1:{secrets.randbelow(65536):x}::1") as elsewhere:
        door.passed(await door.right(elsewhere))


async def test_0_turns_a_count_off(engine: AsyncEngine, limits: Callable[[str, str], None]) -> None:
    limits("0", "0")
    door = await make_door("api_auth", engine)
    async with calling_from(make_app(engine), an_ip()) as http:
        for n in range(30):
            door.failed(await door.wrong(n)(http))
        door.passed(await door.right(http))


@pytest.mark.parametrize(
    "raw", ["twenty", "0/5 minutes", "20/0 minutes", "20 per fortnight", "5 minutes"]
)
def test_a_bad_setting_is_refused_at_start(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("CALLHISTORY_AUTH_FAILURES_PER_ACCOUNT", raw)
    with pytest.raises(ValueError, match="CALLHISTORY_AUTH_FAILURES_PER_ACCOUNT must be"):
        Settings.from_env()


def test_the_defaults() -> None:
    defaults = Settings()
    assert (defaults.auth_failures_per_ip, defaults.auth_failures_per_account) == (
        "20/5 minutes",
        "10/15 minutes",
    )


async def _redis_reachable() -> bool:
    connection = aioredis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        return bool(await connection.ping())
    except (OSError, aioredis.RedisError):
        return False
    finally:
        await connection.aclose()


@pytest.mark.redis
@pytest.mark.parametrize("name", DOORS)
async def test_two_instances_share_the_counts_through_redis(
    engine: AsyncEngine, limits: Callable[[str, str], None], name: str
) -> None:
    if not await _redis_reachable():
        if IN_CI:
            pytest.fail(f"Redis is required under CI=true ({REDIS_URL})")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    limits("4/5 minutes", "100/15 minutes")
    door = await make_door(name, engine)
    ip = an_ip()
    # Two API processes: two apps, two rate limiters, one Redis.
    first, second = make_app(engine, REDIS_URL), make_app(engine, REDIS_URL)
    async with calling_from(first, ip) as one, calling_from(second, ip) as two:
        for n, http in enumerate((one, two, one, two)):
            door.failed(await door.wrong(n)(http))
        door.refused(await door.right(one), 300)
        door.refused(await door.right(two), 300)
    async with calling_from(second, an_ip()) as elsewhere:
        door.passed(await door.right(elsewhere))


async def test_redis_down_still_counts_in_this_process(
    engine: AsyncEngine, limits: Callable[[str, str], None]
) -> None:
    limits("2/5 minutes", "100/15 minutes")
    door = await make_door("api_auth", engine)
    async with calling_from(make_app(engine, "redis://127.0.0.1:1/0"), an_ip()) as http:
        door.failed(await door.wrong(0)(http))
        door.failed(await door.wrong(1)(http))
        door.refused(await door.right(http), 300)
