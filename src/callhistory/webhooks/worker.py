"""The delivery worker: fan changes out, claim due deliveries, POST them, record results.

A claim is a lease: the delivery's next attempt is pushed LEASE_MS ahead *before* it is
sent. If the process dies between sending and recording the answer, the lease runs out
and the delivery is sent again with the same id (receivers de-duplicate on it): at
least once, never lost. Failures back off exponentially (30 s doubling, at most 1 h)
until 24 h after the delivery was made; then it is parked. A hook that has failed
without a single success for 24 h is paused (not deleted); registering it again resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from dataclasses import dataclass

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory import __version__
from callhistory.calls.params import DAY_MS
from callhistory.db import among, now_ms, writing
from callhistory.schema import webhook_deliveries, webhooks
from callhistory.webhooks import store, targets
from callhistory.webhooks.signing import SecretsError, delivery_headers

log = logging.getLogger("callhistory.worker")

LEASE_MS = 120_000
FIRST_RETRY_MS = 30_000
MAX_RETRY_MS = 3_600_000
CLAIM_BATCH = 50
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Claimed:
    tenant_id: str
    id: str
    hook_id: str
    event: str
    url: str
    secret: str
    body: str
    attempt: int
    retry_until: int


@dataclass(frozen=True)
class Result:
    delivery: Claimed
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def backoff_ms(attempt: int) -> int:
    return int(min(FIRST_RETRY_MS * 2 ** max(attempt - 1, 0), MAX_RETRY_MS))


async def fan_out_all(engine: AsyncEngine, now: int) -> int:
    async with engine.connect() as conn:
        tenants = await store.tenants_with_hooks(conn)
    total = 0
    for tenant_id in tenants:
        while True:
            async with writing(engine) as conn:
                done = await store.fan_out(conn, tenant_id, now)
            total += done
            if done < store.FAN_OUT_BATCH:
                break
    return total


async def claim(engine: AsyncEngine, now: int, limit: int = CLAIM_BATCH) -> list[Claimed]:
    """Take due deliveries of active hooks, leasing each for LEASE_MS."""
    async with engine.connect() as conn:
        tenants = await store.tenants_with_hooks(conn)
    claimed: list[Claimed] = []
    d, h = webhook_deliveries, webhooks
    for tenant_id in tenants:
        async with writing(engine) as conn:
            query = (
                select(d, h.c.url, h.c.secret)
                .join(h, (h.c.tenant_id == d.c.tenant_id) & (h.c.id == d.c.hook_id))
                .where(
                    d.c.tenant_id == tenant_id,
                    d.c.status == "pending",
                    d.c.next_attempt_at <= now,
                    h.c.status == "active",
                )
                .order_by(d.c.next_attempt_at, d.c.created_at)
                .limit(limit - len(claimed))
            )
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(of=d, skip_locked=True)  # workers side by side
            rows = (await conn.execute(query)).all()
            if rows:  # the lease, for the whole claim in one statement
                await conn.execute(
                    update(d)
                    .where(d.c.tenant_id == tenant_id, among(d.c.id, [r.id for r in rows]))
                    .values(
                        attempts=d.c.attempts + 1,
                        next_attempt_at=now + LEASE_MS,
                        last_attempt_at=now,
                    )
                )
            for row in rows:
                claimed.append(
                    Claimed(
                        tenant_id,
                        row.id,
                        row.hook_id,
                        row.event,
                        row.url,
                        row.secret,
                        row.body,
                        row.attempts + 1,
                        row.retry_until,
                    )
                )
        if len(claimed) >= limit:
            break
    return claimed


async def send_one(http: httpx.AsyncClient, delivery: Claimed, now: int) -> Result:
    body = delivery.body.encode()
    timestamp = now // 1000
    try:  # webhook-id is the delivery's id: the same on every retry
        signed = delivery_headers(delivery.secret, delivery.id, timestamp, body)
    except SecretsError as exc:  # e.g. a wrong CALLHISTORY_SECRETS_KEY: this one fails
        return Result(delivery, None, str(exc)[:500])
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"callhistory-webhooks/{__version__}",
        "X-Callhistory-Event": delivery.event,
        "X-Callhistory-Delivery": delivery.id,
        "X-Callhistory-Attempt": str(delivery.attempt),
        "X-Callhistory-Timestamp": str(timestamp),
        **signed,  # webhook-id, webhook-timestamp, webhook-signature, X-Callhistory-Signature
    }
    try:
        answer = await http.post(delivery.url, content=body, headers=headers)
    except targets.TargetRefused as exc:  # resolved to an address webhooks may not call
        return Result(delivery, None, f"{exc.code}: {exc}"[:500])
    except httpx.HTTPError as exc:
        return Result(delivery, None, f"{type(exc).__name__}: {exc}"[:500])
    return Result(delivery, answer.status_code, None if answer.is_success else answer.text[:500])


async def send(http: httpx.AsyncClient, claimed: list[Claimed], now: int) -> list[Result]:
    return list(await asyncio.gather(*(send_one(http, c, now) for c in claimed)))


async def mark(engine: AsyncEngine, results: list[Result], now: int) -> None:
    """Record the answers: the deliveries that succeeded together, in one transaction
    (one statement per tenant and status code); each failure on its own."""
    await _mark_delivered(engine, [r for r in results if r.ok])
    for result in results:
        if not result.ok:
            await _mark_failed(engine, result, now)


async def _mark_delivered(engine: AsyncEngine, results: list[Result]) -> None:
    if not results:
        return
    d, h = webhook_deliveries, webhooks
    ids: dict[tuple[str, int | None], list[str]] = defaultdict(list)
    for result in results:
        ids[(result.delivery.tenant_id, result.status_code)].append(result.delivery.id)
    async with writing(engine) as conn:
        for (tenant_id, code), chosen in ids.items():
            await conn.execute(
                update(d)
                .where(d.c.tenant_id == tenant_id, among(d.c.id, chosen))
                .values(status="delivered", response_code=code, error=None)
            )
        for tenant_id, hook_id in sorted(
            {(r.delivery.tenant_id, r.delivery.hook_id) for r in results}
        ):
            await conn.execute(
                update(h)
                .where(
                    h.c.tenant_id == tenant_id, h.c.id == hook_id, h.c.failing_since.is_not(None)
                )
                .values(failing_since=None)
            )


async def _mark_failed(engine: AsyncEngine, result: Result, now: int) -> None:
    d, h = webhook_deliveries, webhooks
    c = result.delivery
    async with writing(engine) as conn:
        hook_key = (h.c.tenant_id == c.tenant_id) & (h.c.id == c.hook_id)
        parked = now >= c.retry_until
        await conn.execute(
            update(d)
            .where(d.c.tenant_id == c.tenant_id, d.c.id == c.id)
            .values(
                status="parked" if parked else "pending",
                next_attempt_at=now + backoff_ms(c.attempt),
                response_code=result.status_code,
                error=result.error,
            )
        )
        since = await conn.scalar(select(h.c.failing_since).where(hook_key))
        if since is None:
            await conn.execute(update(h).where(hook_key).values(failing_since=now))
        elif now - int(since) >= DAY_MS:
            await conn.execute(update(h).where(hook_key).values(status="paused"))
            log.warning("webhook %s paused after failing for a day", c.hook_id)


async def run_once(engine: AsyncEngine, http: httpx.AsyncClient, now: int | None = None) -> int:
    """One round: fan out, then send what is due; how many deliveries were attempted."""
    moment = now_ms() if now is None else now
    await fan_out_all(engine, moment)
    claimed = await claim(engine, moment)
    if claimed:
        await mark(engine, await send(http, claimed, moment), moment)
    return len(claimed)


def http_client(
    policy: targets.Policy | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The worker's client. Each connection goes to an address checked just before it
    is made (targets.py; the settings' policy unless one is given), never through an
    environment proxy. No redirects: a signed body must reach the registered URL or fail
    visibly."""
    if transport is None:
        from callhistory.config import get_settings

        transport = targets.GuardedTransport(policy or targets.Policy.of(get_settings()))
    return httpx.AsyncClient(
        transport=transport, timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False
    )


async def run_forever(engine: AsyncEngine, stop: asyncio.Event, interval: float = 1.0) -> None:
    """The worker: webhooks, exports no API process has started (e.g. it died), and
    retention's pruning, a few small batches per round when it is due."""
    from callhistory import retention
    from callhistory.config import get_settings
    from callhistory.exports import runner

    pruning = retention.Schedule(get_settings())
    async with http_client() as http:
        while not stop.is_set():
            busy = 0
            try:
                busy = await run_once(engine, http)
                for tenant_id, export_id in await runner.queued(engine, limit=1):
                    await runner.run(engine, tenant_id, export_id, get_settings().export_dir)
                await pruning.run_if_due(engine)
            except Exception:  # a database blip must not end the worker: next round
                log.exception("worker round failed")
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)
