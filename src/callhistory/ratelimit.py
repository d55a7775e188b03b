"""Rate limits per credential and endpoint group, in Redis when configured (shared by
every API process) and in memory otherwise.

When Redis cannot be reached the limits fall back to this process's memory for a
while, so the API keeps answering (limits then hold per process, not per cluster).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError

from callhistory.envelope import ApiError

log = logging.getLogger(__name__)

API, INGEST = "api", "ingest"
REDIS_RETRY_SECONDS = 30.0  # after a failure, how long to use memory before trying again


@dataclass(frozen=True)
class Limits:
    """`None` for a group means unlimited."""

    api: RateLimitItem | None
    ingest: RateLimitItem | None

    @classmethod
    def parse(cls, api: str, ingest: str) -> Limits:
        return cls(_parse(api), _parse(ingest))


def _parse(text: str) -> RateLimitItem | None:
    """'3000/30 minutes', '100 per second'; '0' or '' for no limit."""
    text = text.strip()
    return None if text in ("", "0") else parse(text.replace("/", " per ", 1))


class RateLimiter:
    def __init__(self, limits: Limits, redis_url: str = "") -> None:
        self.limits = limits
        self._memory = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._shared: SlidingWindowCounterRateLimiter | None = None
        if redis_url:
            storage: Storage = RedisStorage(
                _async_redis(redis_url), implementation="redispy", wrap_exceptions=True
            )
            self._shared = SlidingWindowCounterRateLimiter(storage)
        self._redis_down_until = 0.0

    def _item(self, group: str) -> RateLimitItem | None:
        return self.limits.ingest if group == INGEST else self.limits.api

    async def hit(self, group: str, who: str) -> None:
        """Count one request of `who` in `group`; over the limit, a 429 that says when."""
        item = self._item(group)
        if item is None:
            return
        limiter = await self._limiter()
        try:
            allowed = await limiter.hit(item, group, who)
        except StorageError:
            self._redis_failed()
            limiter = self._memory
            allowed = await limiter.hit(item, group, who)
        if allowed:
            return
        stats = await limiter.get_window_stats(item, group, who)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise ApiError(429, "limit_request_30_minute", headers={"Retry-After": str(retry_after)})

    async def _limiter(self) -> SlidingWindowCounterRateLimiter:
        if self._shared is None or time.monotonic() < self._redis_down_until:
            return self._memory
        return self._shared

    def _redis_failed(self) -> None:
        log.warning(
            "rate limits: Redis unreachable, counting in this process for %ss", REDIS_RETRY_SECONDS
        )
        self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS


def _async_redis(url: str) -> str:
    """limits names its async Redis storage `async+redis://`."""
    return url if url.startswith("async+") else f"async+{url}"
