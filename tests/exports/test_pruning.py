"""Retention of export files: removed once every link handed out has expired, the export
then says `expired` and its download answers 410 export_expired."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory import retention
from callhistory.config import Settings, get_settings
from callhistory.exports import runner
from callhistory.exports.pruning import GRACE_MS
from callhistory.schema import exports
from tests.exports.test_exports import export, export_dir  # noqa: F401 - the fixture
from tests.factories import Tenant, add_call, make_tenant, now_ms

HOUR_MS = 3_600_000


def is_file(path: str | Path) -> bool:  # kept out of the async tests (ASYNC240)
    return Path(path).is_file()


def listing(folder: Path) -> list[Path]:
    return list(folder.iterdir())


async def row(engine: AsyncEngine, export_id: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(select(exports).where(exports.c.id == export_id))).one()


async def links_expired(engine: AsyncEngine, export_id: str, ago_ms: int = HOUR_MS) -> None:
    """As if the last link handed out had expired `ago_ms` ago."""
    async with engine.begin() as conn:
        await conn.execute(
            update(exports)
            .where(exports.c.id == export_id)
            .values(link_expires_at=now_ms() - ago_ms)
        )


async def prune(engine: AsyncEngine, tenant: Tenant) -> int:
    report = await retention.prune(engine, Settings(), tenant_id=tenant.id)
    return report.total("exports")


async def test_expired_file_is_removed_and_the_export_says_so(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    export_dir: Path,  # noqa: F811
) -> None:
    tenant = await make_tenant(engine)
    await add_call(engine, tenant)
    job, _ = await export(client, tenant)
    path = Path((await row(engine, job["id"])).path)
    assert is_file(path) and export_dir in path.parents
    assert await prune(engine, tenant) == 0  # its link is fresh

    await links_expired(engine, job["id"])
    assert await prune(engine, tenant) == 1
    assert not is_file(path)
    shown = (await client.get(f"/api/exports/{job['id']}", headers=tenant.headers)).json()
    assert shown["payload"]["status"] == "expired"
    assert shown["payload"]["download_url"] is None
    assert shown["payload"]["size_bytes"] == job["size_bytes"]
    url = httpx.URL(job["download_url"])  # the old link: its file is gone
    gone = await client.get(url.path, params=url.params)
    assert (gone.status_code, gone.json()["message"]) == (410, "export_expired")
    assert await prune(engine, tenant) == 0  # done once


async def test_links_handed_out_keep_the_file(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    export_dir: Path,  # noqa: F811
) -> None:
    tenant = await make_tenant(engine)
    await add_call(engine, tenant)
    job, _ = await export(client, tenant)
    await links_expired(engine, job["id"], ago_ms=GRACE_MS // 2)  # within the grace
    assert await prune(engine, tenant) == 0
    await links_expired(engine, job["id"])
    # A GET hands out a fresh link, and so keeps the file as long as that link.
    shown = (await client.get(f"/api/exports/{job['id']}", headers=tenant.headers)).json()
    assert shown["payload"]["status"] == "done"
    assert (await row(engine, job["id"])).link_expires_at == shown["payload"]["download_expires_at"]
    assert await prune(engine, tenant) == 0
    url = httpx.URL(shown["payload"]["download_url"])
    assert (await client.get(url.path, params=url.params)).status_code == 200


async def test_never_asked_for_expires_a_ttl_after_it_finished(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    export_dir: Path,  # noqa: F811
) -> None:
    tenant = await make_tenant(engine)
    await add_call(engine, tenant)
    job, _ = await export(client, tenant)
    ttl_ms = Settings().export_link_ttl_seconds * 1000
    async with engine.begin() as conn:
        await conn.execute(
            update(exports)
            .where(exports.c.id == job["id"])
            .values(link_expires_at=None, finished_at=now_ms() - ttl_ms - GRACE_MS - 1000)
        )
    assert await prune(engine, tenant) == 1


async def test_an_expired_link_to_a_kept_file_still_says_link_expired(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    export_dir: Path,  # noqa: F811
) -> None:
    tenant = await make_tenant(engine)
    await add_call(engine, tenant)
    job, _ = await export(client, tenant)
    until = now_ms() // 1000 - 60
    sig = runner.link_signature(get_settings().secret_key, tenant.id, job["id"], until)
    old = await client.get(
        f"/api/exports/{job['id']}/download",
        params={"tenant": tenant.id, "expires": until, "sig": sig},
    )
    assert (old.status_code, old.json()["message"]) == (410, "download_link_expired")


async def test_one_tenants_files_are_not_anothers(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    export_dir: Path,  # noqa: F811
) -> None:
    a, b = await make_tenant(engine), await make_tenant(engine)
    jobs = {}
    for tenant in (a, b):
        await add_call(engine, tenant)
        jobs[tenant.id], _ = await export(client, tenant)
        await links_expired(engine, jobs[tenant.id]["id"])
    assert await prune(engine, a) == 1
    assert (await row(engine, jobs[a.id]["id"])).status == "expired"
    kept = await row(engine, jobs[b.id]["id"])
    assert kept.status == "done" and is_file(kept.path)


async def test_a_failed_export_leaves_no_partial_file(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await make_tenant(engine)
    await add_call(engine, tenant)

    async def broken(*_: Any, **__: Any) -> Any:
        yield b"half a file"
        raise RuntimeError("disk full")

    monkeypatch.setattr(runner, "stream", broken)
    target = tmp_path / "calls.csv"
    f = runner.call_filter({"from_date": 0, "to_date": now_ms()})
    with pytest.raises(RuntimeError):
        await runner.write_file(engine, tenant.id, f, "csv", "UTC", "%Y", target)
    assert listing(tmp_path) == []
