"""API keys, tokens, revocation and tenant isolation on every endpoint."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth import keys, tokens
from callhistory.auth.keys import KeyRef
from callhistory.config import get_settings
from tests.factories import add_agent, add_call, make_tenant, window


async def _token(client: httpx.AsyncClient, api_key: str) -> str:
    r = await client.get("/api/auth", params={"apiKey": api_key})
    assert r.status_code == 200, r.text
    payload = r.json()["payload"]
    assert payload["token_type"] == "Bearer"
    assert payload["access_type"] == "normal"
    assert payload["expires_at"] > time.time() * 1000 + 23 * 3600 * 1000
    return str(payload["access_token"])


async def test_key_exchanged_for_a_bearer_token(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(engine)
    await add_call(engine, tenant)
    token = await _token(client, tenant.api_key)
    r = await client.get(
        "/api/call_transaction/list", params=window(), headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200
    assert r.json()["payload"]["total_items"] == 1


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "api_key_is_required"),
        ({"apiKey": ""}, "api_key_is_required"),
        ({"apiKey": "nope"}, "api_key_invalid"),
    ],
)
async def test_auth_rejects_missing_and_bad_keys(
    client: httpx.AsyncClient, params: dict[str, str], code: str
) -> None:
    r = await client.get("/api/auth", params=params)
    assert r.status_code == 401
    assert r.json()["message"] == code
    assert r.json()["status_code"] == -9999


def _token_key_id(answer: httpx.Response) -> str:
    """The key a token from /api/auth was issued for."""
    assert answer.status_code == 200, answer.text
    token = answer.json()["payload"]["access_token"]
    return tokens.verify(token, get_settings().secret_key).key_id


async def test_auth_takes_the_key_from_the_x_api_key_header(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    """As a client that sends x-api-key to every endpoint sends it here: no query at all."""
    tenant = await make_tenant(engine)
    await add_call(engine, tenant)
    answer = await client.get("/api/auth", headers={"x-api-key": tenant.api_key})
    assert _token_key_id(answer) == tenant.key_id
    token = answer.json()["payload"]["access_token"]
    listed = await client.get(
        "/api/call_transaction/list", params=window(), headers={"Authorization": f"Bearer {token}"}
    )
    assert listed.status_code == 200 and listed.json()["payload"]["total_items"] == 1


async def test_auth_with_header_and_query_uses_the_query_key(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    """Both given and different: `apiKey`, the documented one, wins; the header is ignored
    whether it is another good key or a wrong one."""
    tenant = await make_tenant(engine)
    async with engine.begin() as conn:
        other_id, other_key = await keys.create_key(conn, tenant.id, "second")
    both = await client.get(
        "/api/auth", params={"apiKey": other_key}, headers={"x-api-key": tenant.api_key}
    )
    assert _token_key_id(both) == other_id
    wrong_header = await client.get(
        "/api/auth", params={"apiKey": tenant.api_key}, headers={"x-api-key": "ch_wrong"}
    )
    assert _token_key_id(wrong_header) == tenant.key_id
    wrong_query = await client.get(
        "/api/auth", params={"apiKey": "ch_wrong"}, headers={"x-api-key": tenant.api_key}
    )
    assert wrong_query.status_code == 401
    assert wrong_query.json()["message"] == "api_key_invalid"


async def test_auth_with_a_wrong_key_in_the_header_is_invalid(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(engine)
    forged = tenant.api_key[:-4] + ("aaaa" if not tenant.api_key.endswith("aaaa") else "bbbb")
    for wrong in (forged, "nope"):
        r = await client.get("/api/auth", headers={"x-api-key": wrong})
        assert r.status_code == 401
        assert (r.json()["status_code"], r.json()["message"]) == (-9999, "api_key_invalid")


async def test_auth_with_an_empty_header_still_asks_for_a_key(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/auth", headers={"x-api-key": ""})
    assert r.status_code == 401
    assert r.json()["message"] == "api_key_is_required"


async def test_a_key_with_a_wrong_secret_is_invalid(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(engine)
    forged = tenant.api_key[:-4] + ("aaaa" if not tenant.api_key.endswith("aaaa") else "bbbb")
    r = await client.get(
        "/api/call_transaction/list", params=window(), headers={"x-api-key": forged}
    )
    assert r.status_code == 401
    assert r.json()["message"] == "api_key_invalid"


async def test_no_credentials_is_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/call_transaction/list", params=window())
    assert r.status_code == 401
    assert r.json()["message"] == "api_key_is_required"


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
async def test_a_malformed_token_is_unauthorized(client: httpx.AsyncClient, token: str) -> None:
    r = await client.get(
        "/api/call_transaction/list", params=window(), headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 401
    assert r.json()["message"] == "unauthorized"


async def test_a_token_signed_with_another_secret_is_unauthorized(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(engine)
    token, _ = tokens.issue(
        KeyRef(tenant.id, tenant.key_id), "another-secret-that-is-long-enough-for-hs256", 3600
    )
    r = await client.get(
        "/api/call_transaction/list", params=window(), headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 401
    assert r.json()["message"] == "unauthorized"


async def test_an_expired_token_says_so(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(engine)
    claims = {
        "sub": tenant.id,
        "kid": tenant.key_id,
        "iat": 1,
        "exp": int(time.time()) - 5,
        "typ": "access",
    }
    token = jwt.encode(claims, get_settings().secret_key, algorithm="HS256")
    r = await client.get(
        "/api/call_transaction/list", params=window(), headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 401
    assert r.json()["message"] == "token_expired"


async def test_revoking_a_key_ends_it_and_its_tokens_at_once(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(engine)
    token = await _token(client, tenant.api_key)
    async with engine.begin() as conn:
        assert await keys.revoke_key(conn, tenant.key_id)
        assert not await keys.revoke_key(conn, tenant.key_id)  # already revoked
    by_key = await client.get("/api/call_transaction/list", params=window(), headers=tenant.headers)
    by_token = await client.get(
        "/api/call_transaction/list", params=window(), headers={"Authorization": f"Bearer {token}"}
    )
    exchange = await client.get("/api/auth", params={"apiKey": tenant.api_key})
    for r in (by_key, by_token, exchange):
        assert r.status_code == 401
        assert r.json()["message"] == "api_key_invalid"


async def test_keys_are_stored_as_hashes_only(engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    async with engine.connect() as conn:
        stored = (await conn.exec_driver_sql("SELECT key_hash FROM api_keys")).scalars().all()
    secret = tenant.api_key.split("_", 3)[3]
    assert all(secret not in value and tenant.api_key not in value for value in stored)


async def test_another_tenants_call_is_not_found_on_every_endpoint(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    owner = await make_tenant(engine, "owner")
    other = await make_tenant(engine, "other")
    agent = await add_agent(engine, owner, "Lê Thị Mai", "201")
    tx = await add_call(engine, owner, agents_on_call=[agent], note="bí mật", tags=["VIP"])

    detail = await client.get(f"/api/call_transaction/detail/{tx}", headers=other.headers)
    change = await client.post(
        f"/api/call_transaction/change/{tx}",
        json={"note": "hacked", "tag": ["x"]},
        headers=other.headers,
    )
    for r in (detail, change):
        assert r.status_code == 404
        assert r.json()["message"] == "transaction_not_found"

    listed = await client.get(
        "/api/call_transaction/list", params={**window(), "keyword": tx[:8]}, headers=other.headers
    )
    assert listed.json()["payload"]["total_items"] == 0
    searched = await client.post(
        "/api/call_transaction/search",
        json={**window(), "user_uuids": [agent.sip_user]},
        headers=other.headers,
    )
    assert searched.json()["payload"]["totalItems"] == 0
    report = await client.get(
        "/api/call_transaction/report", params=window(), headers=other.headers
    )
    assert report.json()["payload"]["categorized_by_direction"][0]["total_count"] == 0

    # and the owner's call is unchanged
    mine = await client.get(f"/api/call_transaction/detail/{tx}", headers=owner.headers)
    assert mine.json()["payload"]["note"] == "bí mật"
    assert mine.json()["payload"]["tag"] == ["VIP"]


async def test_a_token_cannot_be_pointed_at_another_tenant(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    """A token names its key's tenant; a forged `sub` with a real key id fails the key check."""
    owner = await make_tenant(engine, "owner")
    other = await make_tenant(engine, "other")
    await add_call(engine, owner)
    token, _ = tokens.issue(KeyRef(owner.id, other.key_id), get_settings().secret_key, 3600)
    r = await client.get(
        "/api/call_transaction/list", params=window(), headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 401
