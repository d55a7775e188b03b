"""Standard Webhooks signatures, checked against the `standardwebhooks` library as the
oracle; the deprecated X-Callhistory-Signature beside them; secrets opened to sign."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook, WebhookVerificationError

from callhistory import secrets_box
from callhistory.client import standard_secret, verify_signature, verify_webhook
from callhistory.config import get_settings
from callhistory.db import writing
from callhistory.schema import webhook_deliveries, webhooks
from callhistory.webhooks import store, worker
from callhistory.webhooks.signing import (
    standard_headers,
    standard_key,
    verify,
    verify_standard,
)
from tests.factories import Tenant, add_call, make_tenant, now_ms
from tests.webhooks.test_webhooks import Receiver, register

BODY = b'{"event":"hangup","transaction_id":"t1"}'
# Loopback, written as such: allowed in development with no DNS (the receiver is a mock).
URL = "http://127.0.0.1:9/hooks"
LEGACY = "whsec_" + "Ab-_" * 10 + "xyw"  # the old format: URL-safe base64 of 32 bytes


def secret_kinds() -> list[str]:
    return [
        store.new_secret(),  # what registration mints now
        LEGACY,
        "whsec_" + secrets.token_urlsafe(32),  # the old format, random
        "whsec_k",  # no base64 after the prefix: keyed with its UTF-8 bytes
    ]


@pytest.fixture
def use_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str | None], None]]:
    """Set CALLHISTORY_SECRETS_KEY (None: unset) for what follows."""

    def use(value: str | None) -> None:
        if value is None:
            monkeypatch.delenv("CALLHISTORY_SECRETS_KEY", raising=False)
        else:
            monkeypatch.setenv("CALLHISTORY_SECRETS_KEY", value)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def mine(receiver: Receiver, tenant: Tenant) -> list[httpx.Request]:
    return [r for r in receiver.received if tenant.id in r.content.decode()]


def library_signature(secret: str, request: httpx.Request) -> str:
    """What the library signs for this request (any timestamp, unlike its verify())."""
    moment = datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), UTC)
    return Webhook(standard_secret(secret)).sign(
        request.headers["webhook-id"], moment, request.content
    )


@pytest.mark.parametrize("secret", secret_kinds())
def test_the_library_verifies_our_signature(secret: str) -> None:
    headers = standard_headers(secret, "d-1", int(time.time()), BODY)
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(standard_secret(secret)).verify(BODY, headers) == {
        "event": "hangup",
        "transaction_id": "t1",
    }
    assert verify_standard(secret, BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(standard_secret(secret)).verify(BODY + b" ", headers)


def test_new_secrets_are_what_the_library_reads_as_is() -> None:
    secret = store.new_secret()
    assert secret.startswith("whsec_") and standard_secret(secret) == secret
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    headers = standard_headers(secret, "d-1", int(time.time()), BODY)
    Webhook(secret).verify(BODY, headers)  # no conversion needed


def test_legacy_secret_with_the_alphabet_swapped_is_the_library_secret() -> None:
    """The documented rule for secrets minted before: `-` → `+`, `_` → `/` after whsec_."""
    swapped = "whsec_" + LEGACY.removeprefix("whsec_").replace("-", "+").replace("_", "/")
    assert standard_secret(LEGACY) == swapped + "="  # the same key, padded
    headers = standard_headers(LEGACY, "d-1", int(time.time()), BODY)
    Webhook(swapped).verify(BODY, headers)
    assert standard_key(LEGACY) == base64.urlsafe_b64decode(LEGACY.removeprefix("whsec_") + "=")


def test_a_secret_that_is_no_base64_is_keyed_with_its_text() -> None:
    assert standard_key("whsec_k") == b"whsec_k"
    assert standard_secret("whsec_k") == "whsec_" + base64.b64encode(b"whsec_k").decode()


def test_our_verifier_accepts_the_library_and_refuses_the_rest() -> None:
    secret = store.new_secret()
    now = int(time.time())
    signed = Webhook(secret).sign("d-9", datetime.fromtimestamp(now, UTC), BODY)
    headers = {"Webhook-Id": "d-9", "Webhook-Timestamp": str(now), "Webhook-Signature": signed}
    assert verify_standard(secret, BODY, headers)  # header names in any case
    assert verify_webhook(secret, BODY, headers)
    rotating = {**headers, "Webhook-Signature": f"v1,{'A' * 43}= {signed}"}
    assert verify_standard(secret, BODY, rotating)  # one of several matches
    assert not verify_standard(secret, BODY + b"x", headers)
    assert not verify_standard(store.new_secret(), BODY, headers)
    assert not verify_standard(secret, BODY, {**headers, "Webhook-Id": "d-10"})
    assert not verify_standard(secret, BODY, headers, now=now + 301)  # replayed late
    assert not verify_standard(secret, BODY, headers, now=now - 301)  # from the future
    assert not verify_standard(secret, BODY, {"webhook-id": "d-9"})
    assert not verify_standard(secret, BODY, {**headers, "Webhook-Timestamp": "soon"})


async def test_a_delivery_carries_both_signatures(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    hook = await register(client, tenant, url=URL)
    await add_call(engine, tenant)
    receiver = Receiver()
    async with receiver.http() as http:
        await worker.run_once(engine, http)
    [request] = mine(receiver, tenant)
    headers = dict(request.headers)
    assert headers["webhook-id"] == headers["x-callhistory-delivery"]
    assert headers["webhook-timestamp"] == headers["x-callhistory-timestamp"]
    Webhook(hook["secret"]).verify(request.content, headers)  # the receiver's library
    assert verify_webhook(hook["secret"], request.content, headers)
    # deprecated, still sent for one release
    assert verify(hook["secret"], request.content, headers["x-callhistory-signature"])
    assert verify_signature(hook["secret"], request.content, headers["x-callhistory-signature"])


async def test_webhook_id_is_stable_across_retries(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    hook = await register(client, tenant, url=URL)
    await add_call(engine, tenant)
    receiver = Receiver()
    receiver.failing = True
    now = now_ms()
    async with receiver.http() as http:
        await worker.run_once(engine, http, now)
        receiver.failing = False
        await worker.run_once(engine, http, now + worker.FIRST_RETRY_MS + 1000)
    first, second = mine(receiver, tenant)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.headers["webhook-id"] == first.headers["X-Callhistory-Delivery"]
    assert [first.headers["X-Callhistory-Attempt"], second.headers["X-Callhistory-Attempt"]] == [
        "1",
        "2",
    ]
    assert first.headers["webhook-timestamp"] != second.headers["webhook-timestamp"]
    for request in (first, second):
        assert library_signature(hook["secret"], request) == request.headers["webhook-signature"]
    Webhook(hook["secret"]).verify(second.content, dict(second.headers))  # 31 s ahead: fine


async def test_stored_secret_is_encrypted(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    hook = await register(client, tenant, url=URL)
    async with engine.connect() as conn:
        stored = await conn.scalar(
            select(webhooks.c.secret).where(webhooks.c.tenant_id == tenant.id)
        )
    assert stored is not None and stored != hook["secret"]
    key_text = hook["secret"].removeprefix("whsec_")
    assert key_text not in stored and hook["secret"] not in stored
    assert secrets_box.is_token(stored)
    assert secrets_box.box().open(stored) == hook["secret"]
    listed = (await client.get("/api/webhooks/list", headers=tenant.headers)).json()["payload"]
    assert "secret" not in listed["items"][0]


async def test_a_plaintext_secret_from_before_keeps_working_then_is_encrypted(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    await register(client, tenant, url=URL)
    legacy = "whsec_" + secrets.token_urlsafe(32)
    async with writing(engine) as conn:  # as the previous release stored it
        await conn.execute(
            update(webhooks).where(webhooks.c.tenant_id == tenant.id).values(secret=legacy)
        )
    receiver = Receiver()
    tx = await add_call(engine, tenant)
    async with receiver.http() as http:
        await worker.run_once(engine, http)
        async with writing(engine) as conn:
            done = await store.reseal_secrets(conn, tenant.id)
        assert (done.resealed, done.current, done.unreadable) == (1, 0, [])
        async with engine.connect() as conn:
            stored = await conn.scalar(
                select(webhooks.c.secret).where(webhooks.c.tenant_id == tenant.id)
            )
        assert stored is not None and legacy not in stored and secrets_box.is_token(stored)
        await client.post(
            f"/api/call_transaction/change/{tx}", json={"note": "n"}, headers=tenant.headers
        )
        await worker.run_once(engine, http)
    before, after = mine(receiver, tenant)
    for request in (before, after):  # the receiver's secret did not change
        assert verify(legacy, request.content, request.headers["X-Callhistory-Signature"])
        Webhook(standard_secret(legacy)).verify(request.content, dict(request.headers))


async def test_a_wrong_key_fails_the_delivery_not_the_round(
    client: httpx.AsyncClient, engine: AsyncEngine, use_keys: Callable[[str | None], None]
) -> None:
    key_a, key_c = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    use_keys(key_a)
    tenant = await make_tenant(engine)
    hook = await register(client, tenant, url=URL)
    other = await make_tenant(engine)
    use_keys(None)  # the other tenant's hook: under the default (derived) key
    other_hook = await register(client, other, url=URL)
    await add_call(engine, tenant)
    await add_call(engine, other)
    use_keys(key_c)  # A is gone: a configuration mistake
    receiver = Receiver()
    now = now_ms()
    try:
        async with receiver.http() as http:
            await worker.run_once(engine, http, now)  # no exception
            assert mine(receiver, tenant) == []  # nothing sent unsigned
            [sent] = mine(receiver, other)  # the round went on for the others
            Webhook(other_hook["secret"]).verify(sent.content, dict(sent.headers))
            async with engine.connect() as conn:
                row = (
                    await conn.execute(
                        select(webhook_deliveries).where(
                            webhook_deliveries.c.tenant_id == tenant.id
                        )
                    )
                ).one()
            assert row.status == "pending" and row.attempts == 1
            assert row.error.startswith("secret_unreadable:")
            assert "CALLHISTORY_SECRETS_KEY" in row.error
            assert key_a not in row.error and key_c not in row.error
            shown = await client.get("/api/webhooks/deliveries", headers=tenant.headers)
            assert shown.json()["payload"]["items"][0]["error"] == row.error
            use_keys(f"{key_c},{key_a}")  # the key is put back: the retry goes out
            await worker.run_once(engine, http, now + worker.FIRST_RETRY_MS + 1000)
        [request] = mine(receiver, tenant)
        Webhook(hook["secret"]).verify(request.content, dict(request.headers))
        assert request.headers["X-Callhistory-Attempt"] == "2"
    finally:
        async with writing(engine) as conn:  # leave no hook under A in the shared store
            await store.destroy(conn, tenant.id, "call")


def test_rotation_moves_every_secret_to_the_first_key(
    configured: str, use_keys: Callable[[str | None], None]
) -> None:
    """The documented rotation: new key first, `webhooks rotate-secrets`, old key dropped;
    a secret no key opens makes the command fail, naming its hook."""
    from typer.testing import CliRunner

    from callhistory.cli import app
    from callhistory.db import create_engine

    runner = CliRunner()
    old, new, lost = (Fernet.generate_key().decode() for _ in range(3))

    async def hook_of(sealed_with: str) -> tuple[Tenant, str]:
        engine = create_engine(configured)
        try:
            tenant = await make_tenant(engine)
            use_keys(sealed_with)
            async with writing(engine) as conn:
                hook = await store.register(conn, tenant.id, "call", URL, ["hangup"])
            return tenant, hook.secret
        finally:
            await engine.dispose()

    async def stored(tenant: Tenant) -> str:
        engine = create_engine(configured)
        try:
            async with engine.connect() as conn:
                value = await conn.scalar(
                    select(webhooks.c.secret).where(webhooks.c.tenant_id == tenant.id)
                )
            assert value is not None
            return value
        finally:
            await engine.dispose()

    async def destroy(*tenants: Tenant) -> None:
        engine = create_engine(configured)
        try:
            async with writing(engine) as conn:
                for tenant in tenants:
                    await store.destroy(conn, tenant.id, "call")
        finally:
            await engine.dispose()

    assert runner.invoke(app, ["migrate"]).exit_code == 0
    tenant, secret = asyncio.run(hook_of(old))
    use_keys(f"{new},{old}")
    done = runner.invoke(app, ["webhooks", "rotate-secrets"])
    assert done.exit_code == 0, done.output
    assert "re-encrypted" in done.output
    use_keys(new)  # the old key dropped: the secret still opens
    after = asyncio.run(stored(tenant))
    assert Fernet(new.encode()).decrypt(after.encode()).decode() == secret
    assert secrets_box.box().open(after) == secret

    stranger, _ = asyncio.run(hook_of(lost))
    use_keys(new)
    try:
        failed = runner.invoke(app, ["webhooks", "rotate-secrets"])
        assert failed.exit_code == 1
        assert stranger.id in failed.output and "CALLHISTORY_SECRETS_KEY" in failed.output
        assert lost not in failed.output
    finally:
        asyncio.run(destroy(tenant, stranger))
