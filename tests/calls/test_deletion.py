"""Erasing a call on request: the personal data, agents, tags, evaluations and legs go; a
tombstone (sync, webhooks) and an audit row stay; a re-sent record does not bring it
back; its recording file goes when it is ours; totals stay exact."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from callhistory.cli import app as cli_app
from callhistory.config import get_settings
from callhistory.db import create_engine
from callhistory.schema import call_deletions, call_tags, call_users, calls, cdr_legs
from callhistory.webhooks import worker
from tests.factories import DAY_MS, Tenant, add_agent, add_call, make_tenant, now_ms
from tests.ingest.freeswitch_posts import call_center, document, post_leg
from tests.ingest.test_batch import item as batch_item
from tests.webhooks.test_webhooks import Receiver, register

QUEUE_CALL = "3f0c1a52-6a1e-4c47-9a51-0b8f2f2d9a01"  # tests/ingest/test_freeswitch_http.py


def delete_path(transaction_id: str) -> str:
    return f"/api/call_transaction/detail/{transaction_id}"


async def _rows(engine: AsyncEngine, tenant: Tenant, transaction_id: str) -> dict[str, int]:
    counted = {}
    async with engine.connect() as conn:
        for table, column in (
            (call_users, call_users.c.transaction_id),
            (call_tags, call_tags.c.transaction_id),
            (cdr_legs, cdr_legs.c.call_id),
            (call_deletions, call_deletions.c.transaction_id),
        ):
            counted[table.name] = int(
                await conn.scalar(
                    select(func.count())
                    .select_from(table)
                    .where(table.c.tenant_id == tenant.id, column == transaction_id)
                )
                or 0
            )
    return counted


async def test_a_deleted_call_is_gone_and_tells_whoever_kept_a_copy(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await call_center(engine, client)
    for name in ("inbound-queue-answered-aleg", "inbound-queue-answered-bleg"):
        assert (await post_leg(client, tenant.api_key, document(name))).status_code == 200
    await client.post(
        f"/api/call_transaction/change/{QUEUE_CALL}",
        json={"tag": ["VIP"], "note": "Khách Trần Văn Tiến gọi lại"},
        headers=tenant.headers,
    )
    await register(client, tenant, events=["hangup", "updated", "deleted"])
    before = await _rows(engine, tenant, QUEUE_CALL)
    assert before["call_users"] and before["call_tags"] and before["cdr_legs"]
    receiver = Receiver()
    async with receiver.http() as http:
        await worker.run_once(engine, http)  # the hang-up and the change, delivered

        answer = await client.delete(delete_path(QUEUE_CALL), headers=tenant.headers)
        assert answer.status_code == 200, answer.text
        erased = answer.json()["payload"]
        assert erased["transaction_id"] == QUEUE_CALL and erased["deleted_at"] > 0
        assert erased["recording_removed"] is False  # no folder configured
        await worker.run_once(engine, http)
    after = await _rows(engine, tenant, QUEUE_CALL)
    assert after == {"call_users": 0, "call_tags": 0, "cdr_legs": 0, "call_deletions": 1}
    detail = await client.get(f"/api/call_transaction/detail/{QUEUE_CALL}", headers=tenant.headers)
    assert detail.status_code == 404
    again = await client.delete(delete_path(QUEUE_CALL), headers=tenant.headers)
    assert (again.status_code, again.json()["message"]) == (404, "transaction_not_found")

    synced = await client.get(
        "/api/call_transaction/sync", params={"from_date": 0}, headers=tenant.headers
    )
    (item,) = [i for i in synced.json()["payload"]["items"] if i["transaction_id"] == QUEUE_CALL]
    assert item["is_deleted"] is True
    text = orjson.dumps(item).decode()
    for personal in ("0912345678", "Trần Văn Tiến", "gọi lại", ".mp3", "VIP"):
        assert personal not in text, personal
    events = [orjson.loads(r.content)["event"] for r in receiver.received]
    assert events[-1] == "deleted"
    last = orjson.loads(receiver.received[-1].content)
    assert last["transaction_id"] == QUEUE_CALL and last["is_deleted"] is True

    # The PBX sends the legs again (a retry, a back-fill): acknowledged, not stored again.
    for name in ("inbound-queue-answered-aleg", "inbound-queue-answered-bleg"):
        assert (await post_leg(client, tenant.api_key, document(name))).status_code == 200
    assert (
        await client.get(f"/api/call_transaction/detail/{QUEUE_CALL}", headers=tenant.headers)
    ).status_code == 404
    batch = await client.post(
        "/api/cdr",
        json=[batch_item(transaction_id=QUEUE_CALL)],
        headers=tenant.headers,
    )
    assert batch.status_code == 200, batch.text
    assert batch.json()["payload"]["results"][0]["status"] == "unchanged"
    assert (
        await client.get(f"/api/call_transaction/detail/{QUEUE_CALL}", headers=tenant.headers)
    ).status_code == 404


async def test_totals_stay_exact_and_other_tenants_cannot_delete(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant, other = await make_tenant(engine), await make_tenant(engine)
    start = (now_ms() // DAY_MS - 5) * DAY_MS
    made = [await add_call(engine, tenant, created_date=start + n * 7_200_000) for n in range(30)]
    window = {"from_date": start - 3_600_000, "to_date": start + 4 * DAY_MS}
    refused = await client.delete(delete_path(made[0]), headers=other.headers)
    assert (refused.status_code, refused.json()["message"]) == (404, "transaction_not_found")
    for transaction_id in made[::3]:
        assert (await client.delete(delete_path(transaction_id), headers=tenant.headers)).is_success
    listed = await client.get("/api/call_transaction/list", params=window, headers=tenant.headers)
    report = await client.get("/api/call_transaction/report", params=window, headers=tenant.headers)
    async with engine.connect() as conn:
        live = await conn.scalar(
            select(func.count())
            .select_from(calls)
            .where(calls.c.tenant_id == tenant.id, calls.c.is_deleted.is_(False))
        )
    assert live == 20
    assert listed.json()["payload"]["total_items"] == 20
    directions = report.json()["payload"]["categorized_by_direction"]
    assert sum(d["total_count"] for d in directions) == 20


async def test_its_recording_file_goes_when_it_is_ours(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    settings = replace(get_settings(), recordings_dir=str(tmp_path))
    monkeypatch.setattr("callhistory.calls.routes.get_settings", lambda: settings)
    tenant = await make_tenant(engine)
    transaction_id = await add_call(engine, tenant, recording_path="a.wav")
    answer = await client.delete(delete_path(transaction_id), headers=tenant.headers)
    assert answer.json()["payload"]["recording_removed"] is True
    assert not (tmp_path / "a.wav").exists()
    async with engine.connect() as conn:
        audit = (
            await conn.execute(
                select(call_deletions).where(call_deletions.c.tenant_id == tenant.id)
            )
        ).one()
    assert audit.deleted_by.startswith("key:") and audit.recording_removed is True


def test_the_command_erases_and_says_what_it_could_not(
    configured: str, engine: AsyncEngine
) -> None:
    # `engine` migrates the database the command opens
    async def seed() -> tuple[Tenant, str]:
        own = create_engine(configured)
        try:
            tenant = await make_tenant(own, "erase-cli")
            agent = await add_agent(own, tenant, "Lê Hoa", "105", "hoa@x.vn")
            return tenant, await add_call(own, tenant, agents_on_call=[agent])
        finally:
            await own.dispose()

    tenant, transaction_id = asyncio.run(seed())
    runner = CliRunner()
    done = runner.invoke(
        cli_app, ["calls", "delete", transaction_id, "--tenant", tenant.name, "--by", "dpo@x.vn"]
    )
    assert done.exit_code == 0, done.output
    assert "erased" in done.output
    missing = runner.invoke(cli_app, ["calls", "delete", transaction_id, "--tenant", tenant.name])
    assert missing.exit_code != 0 and "no such call" in missing.output
