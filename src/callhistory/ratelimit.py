"""Rate limits per credential and endpoint group, in Redis when configured (shared by
every API process) and in memory otherwise.

When Redis cannot be reached the limits fall back to this process's memory for a
while, so the API keeps answering (limits then hold per process, not per cluster).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import RateLimiter as Strategy
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError

from callhistory.envelope import ApiError

log = logging.getLogger(__name__)

API, INGEST = "api", "ingest"
REDIS_RETRY_SECONDS = 30.0  # after a failure, how long to use memory before trying again
S = TypeVar("S", bound=Strategy)
T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """`None` for a group means unlimited."""

    api: RateLimitItem | None
    ingest: RateLimitItem | None

    @classmethod
    def parse(cls, api: str, ingest: str) -> Limits:
        return cls(parse_limit(api), parse_limit(ingest))


def parse_limit(text: str) -> RateLimitItem | None:
    """'3000/30 minutes', '100 per second'; '0' or '' for no limit."""
    text = text.strip()
    return None if text in ("", "0") else parse(text.replace("/", " per ", 1))


class Stores:
    """Where counts are kept: Redis when configured (shared by every API process), this
    process's memory otherwise, and for REDIS_RETRY_SECONDS after Redis failed. The rate
    limits and the failed-credential limits (auth/attempts.py) count here alike."""

    def __init__(self, redis_url: str = "") -> None:
        self.memory: Storage = MemoryStorage()
        self.shared: Storage | None = None
        if redis_url:
            self.shared = RedisStorage(
                _async_redis(redis_url), implementation="redispy", wrap_exceptions=True
            )
        self._redis_down_until = 0.0

    def counters(self, strategy: Callable[[Storage], S]) -> Counters[S]:
        return Counters(self, strategy)

    def redis_usable(self) -> bool:
        return self.shared is not None and time.monotonic() >= self._redis_down_until

    def redis_failed(self) -> None:
        log.warning(
            "rate limits: Redis unreachable, counting in this process for %ss", REDIS_RETRY_SECONDS
        )
        self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS


class Counters(Generic[S]):
    """One `limits` strategy over the stores: on Redis while it answers, else in memory."""

    def __init__(self, stores: Stores, strategy: Callable[[Storage], S]) -> None:
        self._stores = stores
        self._memory = strategy(stores.memory)
        self._shared = strategy(stores.shared) if stores.shared is not None else None

    async def run(self, use: Callable[[S], Awaitable[T]]) -> T:
        """`use` the shared counters; if Redis fails, this process's instead."""
        if self._shared is not None and self._stores.redis_usable():
            try:
                return await use(self._shared)
            except StorageError:
                self._stores.redis_failed()
        return await use(self._memory)


class RateLimiter:
    def __init__(self, limits: Limits, redis_url: str = "") -> None:
        self.limits = limits
        self.stores = Stores(redis_url)
        self._counters = self.stores.counters(SlidingWindowCounterRateLimiter)

    def _item(self, group: str) -> RateLimitItem | None:
        return self.limits.ingest if group == INGEST else self.limits.api

    async def hit(self, group: str, who: str) -> None:
        """Count one request of `who` in `group`; over the limit, a 429 that says when."""
        item = self._item(group)
        if item is None:
            return

        async def count(limiter: SlidingWindowCounterRateLimiter) -> float | None:
            if await limiter.hit(item, group, who):
                return None
            return float((await limiter.get_window_stats(item, group, who)).reset_time)

        reset_time = await self._counters.run(count)
        if reset_time is None:
            return
        retry_after = max(1, math.ceil(reset_time - time.time()))
        raise ApiError(429, "limit_request_30_minute", headers={"Retry-After": str(retry_after)})


def _async_redis(url: str) -> str:
    """limits names its async Redis storage `async+redis://`."""
    return url if url.startswith("async+") else f"async+{url}"
