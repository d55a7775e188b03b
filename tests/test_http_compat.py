"""Trailing slashes, HEAD and CORS, as HTTP clients and browsers use them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.app import create_app
from callhistory.config import get_settings
from callhistory.ratelimit import Limits, RateLimiter
from tests.factories import Tenant, add_call, make_tenant, window

ORIGIN = "https://crm.example.vn"


@pytest.fixture(scope="module")
async def tenant(engine: AsyncEngine) -> Tenant:
    tenant = await make_tenant(engine, "http")
    await add_call(engine, tenant, transaction_id=f"tx-{tenant.id}")
    return tenant


def _query(**extra: object) -> dict[str, object]:
    return {**window(), **extra}


# ---- trailing slashes --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/call_transaction/list/",
        "/api/call_transaction/report/",
        "/api/call_transaction/report//",
        "/api/agent/list/",
        "/healthz/",
    ],
)
async def test_a_trailing_slash_is_the_route_itself(
    client: httpx.AsyncClient, tenant: Tenant, path: str
) -> None:
    plain = await client.get(path.rstrip("/"), params=_query(), headers=tenant.headers)
    slashed = await client.get(path, params=_query(), headers=tenant.headers)
    assert slashed.status_code == plain.status_code == 200, slashed.text
    assert slashed.json()["payload"] == plain.json()["payload"]
    assert "location" not in slashed.headers


async def test_detail_and_auth_with_a_trailing_slash(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    detail = await client.get(
        f"/api/call_transaction/detail/tx-{tenant.id}/", headers=tenant.headers
    )
    assert detail.status_code == 200, detail.text
    assert detail.json()["payload"]["transaction_id"] == f"tx-{tenant.id}"
    auth = await client.get("/api/auth/", params={"apiKey": tenant.api_key})
    assert auth.status_code == 200, auth.text
    assert auth.json()["payload"]["token_type"] == "Bearer"


async def test_a_post_with_a_trailing_slash_keeps_its_body(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """A 307 made some clients drop the body or turn the POST into a GET."""
    body = {**window(), "user_uuids": ["101"]}
    r = await client.post(
        "/api/call_transaction/search/?page=1&size=5", json=body, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["payload"]["pageSize"] == 5


async def test_an_unknown_path_with_a_slash_is_the_enveloped_404(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/api/no_such_thing/", "/api/call_transaction/lists/"):
        r = await client.get(path)
        assert r.status_code == 404
        assert (r.json()["status_code"], r.json()["message"]) == (-9999, "not_found")


# ---- HEAD --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "signed"),
    [
        ("/api/call_transaction/list", True),
        ("/api/call_transaction/report", True),
        ("/api/agent/list", True),
        ("/healthz", False),
        ("/signin", False),
        ("/static/dashboard/dashboard.css", False),
        ("/api/no_such_thing", False),
    ],
)
async def test_head_answers_wherever_get_does(
    client: httpx.AsyncClient, tenant: Tenant, path: str, signed: bool
) -> None:
    headers = tenant.headers if signed else {}
    got = await client.get(path, params=_query(), headers=headers)
    head = await client.head(path, params=_query(), headers=headers)
    assert head.status_code == got.status_code, head.text
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.content))


async def test_head_of_a_call(client: httpx.AsyncClient, tenant: Tenant) -> None:
    path = f"/api/call_transaction/detail/tx-{tenant.id}"
    assert (await client.head(path, headers=tenant.headers)).status_code == 200
    assert (await client.head(path + "-gone", headers=tenant.headers)).status_code == 404


async def test_head_is_not_an_operation_of_the_document(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert all("head" not in operations for operations in document["paths"].values())


# ---- CORS --------------------------------------------------------------------------------


@pytest.fixture
async def cors_client(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("CALLHISTORY_CORS_ORIGINS", f"{ORIGIN}, http://localhost:3000/")
    get_settings.cache_clear()
    app = create_app(engine, rate_limiter=RateLimiter(Limits(api=None, ingest=None)))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
    # requests cached the settings too: later apps must not inherit these origins
    monkeypatch.delenv("CALLHISTORY_CORS_ORIGINS")
    get_settings.cache_clear()


def _preflight(origin: str, method: str = "GET", headers: str = "authorization") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


async def test_a_preflight_from_an_allowed_origin(cors_client: httpx.AsyncClient) -> None:
    for origin in (ORIGIN, "http://localhost:3000"):
        r = await cors_client.options(
            "/api/call_transaction/search",
            headers=_preflight(origin, "POST", "x-api-key, content-type"),
        )
        assert r.status_code == 200, r.text
        assert r.headers["access-control-allow-origin"] == origin
        assert "POST" in r.headers["access-control-allow-methods"]
        allowed = r.headers["access-control-allow-headers"].lower()
        assert "x-api-key" in allowed and "content-type" in allowed
        assert "access-control-allow-credentials" not in r.headers


async def test_a_preflight_needs_no_credentials_on_any_route(
    cors_client: httpx.AsyncClient,
) -> None:
    for path in ("/api/call_transaction/list", "/api/call_transaction/detail/x", "/api/auth"):
        r = await cors_client.options(path, headers=_preflight(ORIGIN))
        assert r.status_code == 200, (path, r.text)


async def test_a_preflight_from_another_origin_is_refused_in_the_envelope(
    cors_client: httpx.AsyncClient,
) -> None:
    for headers in (
        _preflight("https://evil.example"),
        _preflight(ORIGIN, "PATCH"),
        _preflight(ORIGIN, "GET", "x-secret-header"),
    ):
        r = await cors_client.options("/api/call_transaction/list", headers=headers)
        assert r.status_code == 403, r.text
        assert (r.json()["status_code"], r.json()["message"]) == (-9999, "cors_not_allowed")
        assert "access-control-allow-origin" not in r.headers


async def test_an_allowed_origins_request_can_read_the_answer(
    cors_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    r = await cors_client.get(
        "/api/call_transaction/list",
        params=_query(),
        headers={**tenant.headers, "Origin": ORIGIN},
    )
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == ORIGIN
    exposed = r.headers["access-control-expose-headers"].lower()
    assert "retry-after" in exposed and "x-request-id" in exposed
    other = await cors_client.get(
        "/api/call_transaction/list",
        params=_query(),
        headers={**tenant.headers, "Origin": "https://evil.example"},
    )
    assert "access-control-allow-origin" not in other.headers


async def test_without_origins_no_cross_origin_access(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """The default: CALLHISTORY_CORS_ORIGINS unset."""
    r = await client.get(
        "/api/call_transaction/list", params=_query(), headers={**tenant.headers, "Origin": ORIGIN}
    )
    assert r.status_code == 200
    assert not [name for name in r.headers if name.startswith("access-control-")]
    preflight = await client.options("/api/call_transaction/list", headers=_preflight(ORIGIN))
    assert preflight.status_code == 403
    assert preflight.json()["message"] == "cors_not_allowed"
