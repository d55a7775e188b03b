"""Demo data: a tenant with realistic Vietnamese agents, customers and calls.

`generate` creates the tenant, or refreshes it (its old directory and calls are deleted
first, other tenants are never touched), and always hands out a fresh API key. The
whole refresh is one transaction, so readers see the old data or the new, never half.

`prepare` is what `make run` wants: a demo tenant that already has calls is kept as it
is (tags and notes added through the API survive a restart), and the key saved by the
previous run (`read_key`/`save_key`) is handed out again while it still verifies.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from callhistory.auth import keys
from callhistory.db import now_ms, writing
from callhistory.demo import directory
from callhistory.demo.calls import CallMaker
from callhistory.demo.clock import Clock
from callhistory.schema import (
    agents,
    call_tags,
    call_users,
    calls,
    customer_phones,
    customers,
    hotlines,
    queues,
    tags,
)

__all__ = ["DemoResult", "generate", "prepare", "read_key", "save_key"]

TIME_ZONE = "Asia/Ho_Chi_Minh"
CHUNK = 2_000  # calls per executemany; their agents and tags go in the same round

# Children before parents, so the deletes never trip a foreign key.
_TENANT_TABLES: tuple[Table, ...] = (
    call_tags,
    call_users,
    calls,
    tags,
    customer_phones,
    customers,
    agents,
    hotlines,
    queues,
)


@dataclass(frozen=True)
class DemoResult:
    tenant_name: str
    api_key: str
    agents: int
    customers: int
    calls: int
    seconds: float
    kept: bool = False  # an existing tenant was left as it was
    new_key: bool = True  # api_key was minted by this run (else: the saved one)


async def _clear(conn: AsyncConnection, tenant_id: str) -> None:
    for table in _TENANT_TABLES:
        await conn.execute(delete(table).where(table.c.tenant_id == tenant_id))


async def _insert(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    for i in range(0, len(rows), CHUNK):
        await conn.execute(table.insert(), list(rows[i : i + CHUNK]))


@contextmanager
def _progress_bar(enabled: bool, total: int) -> Iterator[Progress | None]:
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn("demo calls"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        yield bar


async def generate(
    engine: AsyncEngine, tenant_name: str, n_calls: int, seed: int | None, progress: bool
) -> DemoResult:
    """Create or refresh the demo tenant with `n_calls` calls over the last 60 days."""
    if n_calls < 0:
        raise ValueError("n_calls must not be negative")
    began = time.perf_counter()
    rng = random.Random(seed)
    now = now_ms()
    people = directory.build(rng, tenant_name, n_calls)
    async with writing(engine) as conn:
        tenant = await keys.find_tenant(conn, tenant_name)
        if tenant is None or tenant.name != tenant_name:
            # find_tenant also matches ids; a name that is another tenant's id is a new name.
            tenant = await keys.create_tenant(conn, tenant_name, TIME_ZONE)
        else:
            await _clear(conn, tenant.id)
        _, api_key = await keys.create_key(conn, tenant.id, "demo")
        for table, rows in directory.rows(people, tenant.id, now):
            await _insert(conn, table, rows)
        maker = CallMaker(rng, people, tenant.id, Clock(now, tenant.time_zone))
        with _progress_bar(progress, n_calls) as bar:
            task = bar.add_task("calls", total=n_calls) if bar else None
            for i in range(0, n_calls, CHUNK):
                chunk = [maker.make() for _ in range(min(CHUNK, n_calls - i))]
                await conn.execute(calls.insert(), [c.call for c in chunk])
                await _insert(conn, call_users, [u for c in chunk for u in c.users])
                await _insert(conn, call_tags, [t for c in chunk for t in c.tags])
                if bar is not None and task is not None:
                    bar.advance(task, len(chunk))
    return DemoResult(
        tenant_name=tenant_name,
        api_key=api_key,
        agents=len(people.agents),
        customers=len(people.customers),
        calls=n_calls,
        seconds=time.perf_counter() - began,
    )


async def prepare(
    engine: AsyncEngine,
    tenant_name: str,
    n_calls: int,
    seed: int | None,
    progress: bool,
    *,
    saved_key: str | None = None,
    reset: bool = False,
) -> DemoResult:
    """Keep the demo tenant if it has calls (unless `reset`), else build it (`generate`).

    A kept tenant hands out `saved_key` while it is still an active key of that tenant,
    and only otherwise mints one, so restarting the demo does not pile up keys.
    """
    if not reset:
        kept = await _keep(engine, tenant_name, saved_key)
        if kept is not None:
            return kept
    return await generate(engine, tenant_name, n_calls, seed, progress)


async def _keep(engine: AsyncEngine, tenant_name: str, saved_key: str | None) -> DemoResult | None:
    began = time.perf_counter()
    async with writing(engine) as conn:
        tenant = await keys.find_tenant(conn, tenant_name)
        if tenant is None or tenant.name != tenant_name:
            return None
        counts = {t.name: await _count(conn, t, tenant.id) for t in (calls, agents, customers)}
        if counts["calls"] == 0:
            return None  # nothing worth keeping: build it
        api_key = await _still_valid(conn, tenant.id, saved_key)
        if api_key is None:
            _, api_key = await keys.create_key(conn, tenant.id, "demo")
    return DemoResult(
        tenant_name=tenant_name,
        api_key=api_key,
        agents=counts["agents"],
        customers=counts["customers"],
        calls=counts["calls"],
        seconds=time.perf_counter() - began,
        kept=True,
        new_key=api_key != saved_key,
    )


async def _count(conn: AsyncConnection, table: Table, tenant_id: str) -> int:
    query = select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id)
    return int(await conn.scalar(query) or 0)


async def _still_valid(conn: AsyncConnection, tenant_id: str, saved_key: str | None) -> str | None:
    """`saved_key` if it is an active key of this tenant (not revoked, not another DB's)."""
    if not saved_key:
        return None
    ref = await keys.verify_key(conn, saved_key)
    return saved_key if ref is not None and ref.tenant_id == tenant_id else None


def read_key(path: str | os.PathLike[str]) -> str | None:
    """The key a previous run saved at `path`, if there is one."""
    try:
        with open(path, encoding="utf-8") as saved:
            return saved.read().strip() or None
    except FileNotFoundError:
        return None


def save_key(path: str | os.PathLike[str], api_key: str) -> None:
    """Write the key readable by its owner only (0600), replacing any older one whole."""
    temporary = f"{os.fspath(path)}.tmp"
    # O_EXCL after a removal: the mode is set at creation, never widened by an old file.
    if os.path.exists(temporary):
        os.remove(temporary)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(api_key + "\n")
    os.replace(temporary, path)
