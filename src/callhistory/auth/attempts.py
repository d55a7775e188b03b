"""Guessing limits: failed credentials counted per client address and per account.

Three doors take a secret: `GET /api/auth` (an API key for a token), the dashboard's
sign-in (a key, or a tenant, an email and a password) and the FreeSWITCH ingest (the key
as the HTTP Basic password, or `x-api-key`). Each door counts its failures apart, per
client address (CALLHISTORY_AUTH_FAILURES_PER_IP) and per account
(CALLHISTORY_AUTH_FAILURES_PER_ACCOUNT), in the rate limiter's stores: Redis when
CALLHISTORY_REDIS_URL is set (one count for every process), else each process's memory.

An attempt takes a slot of both counts before its credential is checked, so concurrent
guesses cannot all slip through a count one short of its limit (an API key: only its
database check does, see `checked_key`). A wrong credential keeps
its slots; a right one gives them back, so successes never count. A success resets
nothing else: failures counted from other addresses, or before it from its own, stay
counted until their window ends. While either count is full every attempt is refused
unchecked, a right credential too: 429 `too_many_attempts` with `Retry-After`, the
seconds until that count's window ends (windows are fixed, from the first attempt
counted). Accounts are kept as hashes, never as keys, emails or passwords.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import math
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from limits import RateLimitItem
from limits.aio.strategies import FixedWindowRateLimiter
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory import apidoc
from callhistory.auth import keys
from callhistory.config import Settings, get_settings
from callhistory.envelope import ApiError
from callhistory.ratelimit import RateLimiter, Stores, parse_limit

API_AUTH, SIGNIN, INGEST = "api_auth", "signin", "ingest"  # the doors, counted apart
CODE = "too_many_attempts"

Count = tuple[RateLimitItem, tuple[str, ...]]


class TooManyAttempts(ApiError):
    """429 `too_many_attempts`; `retry_after`: seconds until the full count frees."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(429, CODE, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


def openapi_429(also: str = "") -> dict[str, Any]:
    """The 429 a door declares in its OpenAPI `responses`."""
    return {
        "description": f"{also}`{CODE}`: too many wrong credentials from this address or "
        "for this account; every attempt (a right one too) is refused for `Retry-After` "
        "seconds.",
        "headers": apidoc.RATE_LIMITED["headers"],
    }


@dataclass(frozen=True)
class AttemptLimits:
    """`None`: that count is off."""

    per_ip: RateLimitItem | None
    per_account: RateLimitItem | None

    @classmethod
    def of(cls, settings: Settings) -> AttemptLimits:
        return cls(
            parse_limit(settings.auth_failures_per_ip),
            parse_limit(settings.auth_failures_per_account),
        )


class Attempt:
    """One credential check: `failed()` keeps its slots, otherwise they are given back."""

    def __init__(self) -> None:
        self.wrong = False

    def failed(self) -> None:
        self.wrong = True


class Attempts:
    def __init__(self, limits: AttemptLimits, stores: Stores) -> None:
        self.limits = limits
        self._counters = stores.counters(FixedWindowRateLimiter)

    def counts(self, door: str, ip: str, account: str) -> list[Count]:
        """The two counts an attempt at `door` from `ip` for `account` takes a slot of."""
        return [
            (item, ("auth", door, kind, who))
            for item, kind, who in (
                (self.limits.per_ip, "ip", ip),
                (self.limits.per_account, "account", account),
            )
            if item is not None
        ]

    @asynccontextmanager
    async def attempt(self, counts: list[Count]) -> AsyncIterator[Attempt]:
        """Take a slot of both counts (TooManyAttempts when one is full) for the check."""
        if counts:
            await self._take(counts)
        attempt = Attempt()
        try:
            yield attempt
        finally:
            if counts and not attempt.wrong:  # right, or not checked (an error)
                await self._counters.run(lambda limiter: _give_back(limiter, counts))

    async def refuse_if_full(self, counts: list[Count]) -> None:
        """TooManyAttempts when a count is full; takes no slot (for a key known right)."""
        if not counts:
            return

        async def full(limiter: FixedWindowRateLimiter) -> float | None:
            open_ = await asyncio.gather(*(limiter.test(item, *who) for item, who in counts))
            return await _reset_time(limiter, counts, open_)

        reset_time = await self._counters.run(full)
        if reset_time is not None:
            raise TooManyAttempts(max(1, math.ceil(reset_time - time.time())))

    async def _take(self, counts: list[Count]) -> None:
        async def take(limiter: FixedWindowRateLimiter) -> float | None:
            taken = await asyncio.gather(*(limiter.hit(item, *who) for item, who in counts))
            if all(taken):
                return None
            await _give_back(limiter, counts)
            return await _reset_time(limiter, counts, taken)

        reset_time = await self._counters.run(take)
        if reset_time is not None:
            raise TooManyAttempts(max(1, math.ceil(reset_time - time.time())))


async def _reset_time(
    limiter: FixedWindowRateLimiter, counts: list[Count], open_: Sequence[bool]
) -> float | None:
    """When the last full count among `counts` (`open_[i]` False) frees; None: none is."""
    full = [count for count, ok in zip(counts, open_, strict=True) if not ok]
    if not full:
        return None
    stats = await asyncio.gather(*(limiter.get_window_stats(i, *w) for i, w in full))
    return max(float(s.reset_time) for s in stats)


async def _give_back(limiter: FixedWindowRateLimiter, counts: list[Count]) -> None:
    async def give(item: RateLimitItem, who: tuple[str, ...]) -> None:
        key, expiry = item.key_for(*who), item.get_expiry()
        if await limiter.storage.incr(key, expiry, amount=-1) < 0:  # its window ended meanwhile
            await limiter.storage.incr(key, expiry, amount=1)

    await asyncio.gather(*(give(item, who) for item, who in counts))


def of(request: Request) -> Attempts:
    """The app's counts: made on first use from the settings, in the rate limiter's stores."""
    state = request.app.state
    found: Attempts | None = getattr(state, "auth_attempts", None)
    if found is None:
        limiter: RateLimiter = state.rate_limiter
        found = state.auth_attempts = Attempts(AttemptLimits.of(get_settings()), limiter.stores)
    return found


def attempt(request: Request, door: str, account: str) -> AbstractAsyncContextManager[Attempt]:
    found = of(request)
    return found.attempt(found.counts(door, client_ip(request), account))


async def checked_key(
    request: Request, engine: AsyncEngine, door: str, account: str, presented: str
) -> keys.KeyRef | None:
    """The presented API key's owner, None for a wrong key (counted as a failed attempt).

    Only a database check takes a slot, and the requests that share one (a PBX's burst
    of posts when its key's second in memory runs out) take one slot together: a slot
    per request would let fifty concurrent posts with the right key fill a count of ten.
    A key this process has just found right takes none, but is refused like any other
    while a count is full: a guesser who hits a key in use learns nothing from it.
    """
    found = of(request)
    counts = found.counts(door, client_ip(request), account)
    if keys.recent.get(presented) is not None:
        await found.refuse_if_full(counts)

    async def counted(lookup: keys.Lookup) -> keys.KeyRef | None:
        async with found.attempt(counts) as tried:
            ref = await lookup()
            if ref is None:
                tried.failed()
            return ref

    return await keys.verify_key_recent(engine, presented, counted)


def client_ip(request: Request) -> str:
    """The caller's address as uvicorn gives it (from X-Forwarded-For only behind the
    proxies FORWARDED_ALLOW_IPS trusts: 127.0.0.1 and ::1 by default). An IPv6 address
    counts as its /64, which one host may hold whole."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def key_account(api_key: str) -> str:
    """An API key's account: its tenant and key id when it has a key's form, else a hash
    of what was presented."""
    parsed = keys.parse(api_key)
    if parsed is None:
        return presented_key_account(api_key)
    return _digest("key-id", parsed[0].tenant_id, parsed[0].key_id)


def presented_key_account(api_key: str) -> str:
    """The presented key itself, hashed (a key id alone cannot lock its key out here)."""
    return _digest("key", api_key)


def user_account(tenant: str, email: str) -> str:
    """A dashboard user: the tenant and the email as sign-in matches it, known or not."""
    return _digest("user", tenant, email.strip().lower())
