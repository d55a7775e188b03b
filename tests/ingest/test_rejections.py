"""Refused FreeSWITCH posts: a clear 4xx each, nothing stored half-way, every refusal
kept with its reason and body, listed per tenant, and replayed once the cause is fixed."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth import keys
from callhistory.config import get_settings
from callhistory.ingest import rejections
from callhistory.ingest.rejections.replay import replay
from callhistory.schema import NO_TENANT, calls, cdr_legs
from tests.factories import Tenant, make_tenant
from tests.ingest.freeswitch_posts import call_center, document, post_leg


async def listed(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, object]]:
    answer = await client.get("/api/cdr/rejections", headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, object]] = answer.json()["payload"]["items"]
    return items


async def stored_rows(engine: AsyncEngine, tenant: Tenant) -> tuple[int, int]:
    async with engine.connect() as conn:
        n_calls = await conn.scalar(
            select(func.count()).select_from(calls).where(calls.c.tenant_id == tenant.id)
        )
        n_legs = await conn.scalar(
            select(func.count()).select_from(cdr_legs).where(cdr_legs.c.tenant_id == tenant.id)
        )
    return int(n_calls or 0), int(n_legs or 0)


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b"{not json", "application/json", "invalid_json"),
        (b"cdr=!!!", "application/x-www-form-base64-encoded", "cdr_invalid_base64"),
        (b"[]", "application/json", "cdr_must_be_an_object"),
        (b'{"variables": {"uuid": "u1"}}', "application/json", "cdr_start_missing"),
        (b"", "application/json", "cdr_is_required"),
    ],
)
async def test_bad_bodies_are_refused_and_kept(
    engine: AsyncEngine, client: httpx.AsyncClient, body: bytes, content_type: str, code: str
) -> None:
    tenant = await make_tenant(engine)
    answer = await client.post(
        "/api/cdr/freeswitch?uuid=u1",
        content=body,
        headers={"content-type": content_type},
        auth=("freeswitch", tenant.api_key),
    )
    assert answer.status_code == 400
    assert answer.json()["message"] == code
    assert answer.json()["status_code"] == -9999
    assert await stored_rows(engine, tenant) == (0, 0)
    [kept] = await listed(client, tenant)
    assert (kept["reason"], kept["source"], kept["body"]) == (code, "freeswitch", body.decode())
    assert kept["query"] == "uuid=u1"


async def test_missing_and_wrong_keys_are_refused(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(engine)
    raw = document("local-answered-aleg")
    missing = await client.post(
        "/api/cdr/freeswitch", content=raw, headers={"content-type": "application/json"}
    )
    assert (missing.status_code, missing.json()["message"]) == (401, "api_key_is_required")
    assert missing.headers["www-authenticate"].startswith("Basic")
    wrong = await post_leg(client, tenant.api_key[:-2] + "xx", raw)
    assert (wrong.status_code, wrong.json()["message"]) == (401, "api_key_invalid")
    header = await client.post(
        "/api/cdr/freeswitch",
        content=raw,
        headers={"content-type": "application/json", "x-api-key": tenant.api_key},
    )
    assert header.status_code == 200  # x-api-key works as well as Basic
    async with engine.connect() as conn:
        unowned = await rejections.recent(conn, NO_TENANT, 1000)
    assert {r.reason for r in unowned} >= {"api_key_is_required", "api_key_invalid"}
    # Nobody's tenant sees the unauthenticated posts.
    assert await listed(client, tenant) == []


async def test_revoked_key_stops_posts_at_once(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(engine)
    async with engine.begin() as conn:
        await keys.revoke_key(conn, tenant.key_id)
    answer = await post_leg(client, tenant.api_key, document("local-answered-aleg"))
    assert (answer.status_code, answer.json()["message"]) == (401, "api_key_invalid")


async def test_oversized_body_is_refused(
    engine: AsyncEngine, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await make_tenant(engine)
    small = dataclasses.replace(get_settings(), max_cdr_bytes=1000)
    monkeypatch.setattr("callhistory.ingest.routes.get_settings", lambda: small)
    answer = await post_leg(client, tenant.api_key, document("inbound-busy-aleg"))
    assert (answer.status_code, answer.json()["message"]) == (413, "payload_too_large")
    [kept] = await listed(client, tenant)
    assert kept["reason"] == "payload_too_large"
    assert await stored_rows(engine, tenant) == (0, 0)


async def test_rejections_are_per_tenant(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    first, second = await make_tenant(engine), await make_tenant(engine)
    await post_leg(client, first.api_key, b"{oops")
    assert len(await listed(client, first)) == 1
    assert await listed(client, second) == []


async def test_replay_after_fixing_the_key(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    tenant = await call_center(engine, client)
    await replay(engine, (await make_tenant(engine)).id, unauthenticated=True)  # others' posts
    # Posts signed with an old key: refused, kept unowned.
    for name in ("outbound-answered-aleg", "outbound-answered-bleg"):
        answer = await post_leg(client, "ch_old_key_from_last_year", document(name), "urlencoded")
        assert answer.status_code == 401
    assert await stored_rows(engine, tenant) == (0, 0)
    report = await replay(engine, tenant.id, unauthenticated=True)
    assert report.replayed == 2
    n_calls, n_legs = await stored_rows(engine, tenant)
    assert (n_calls, n_legs) == (1, 2)
    # Replayed once: a second run has nothing left of these.
    again = await replay(engine, tenant.id, unauthenticated=True)
    assert again.replayed == 0
    assert await stored_rows(engine, tenant) == (1, 2)


async def test_replay_keeps_what_still_fails(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(engine)
    await post_leg(client, tenant.api_key, b"{still broken")
    report = await replay(engine, tenant.id)
    assert (report.replayed, dict(report.still_failing)) == (0, {"invalid_json": 1})
    [kept] = await listed(client, tenant)
    assert kept["replayed_at"] is None
