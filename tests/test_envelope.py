"""The contract's envelope on every answer, framework errors included."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory import __version__
from callhistory.app import create_app
from tests.factories import make_tenant, window

ENVELOPE_KEYS = {
    "status_code",
    "instance_id",
    "instance_name",
    "instance_version",
    "payload",
    "key_enabled",
}


def assert_failure(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) >= ENVELOPE_KEYS
    assert body["status_code"] == -9999
    assert body["message"] == code
    assert body["instance_version"] == __version__
    assert "detail" not in body
    assert "Traceback" not in r.text


async def test_success_envelope(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(engine)
    r = await client.get("/api/call_transaction/list", params=window(), headers=tenant.headers)
    body = r.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["status_code"] == 9999
    assert body["key_enabled"] is False


async def test_unknown_path_is_404_in_the_envelope(client: httpx.AsyncClient) -> None:
    assert_failure(await client.get("/api/nothing/here"), 404, "not_found")


async def test_wrong_method_is_405_in_the_envelope(client: httpx.AsyncClient) -> None:
    assert_failure(await client.delete("/api/call_transaction/list"), 405, "method_not_allowed")


async def test_unexpected_error_is_500_without_internals(engine: AsyncEngine) -> None:
    app = create_app(engine)
    boom = APIRouter()

    @boom.get("/boom")
    async def explode() -> None:
        raise RuntimeError("SELECT secret FROM internals")

    app.include_router(boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        r = await http.get("/boom")
    assert_failure(r, 500, "internal_error")
    assert "SELECT" not in r.text


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"to_date": 1}, "from_date_is_required"),
        ({"from_date": 1}, "to_date_is_required"),
        ({"from_date": "abc", "to_date": 1}, "date_invalid"),
        ({"from_date": -5, "to_date": 1}, "date_invalid"),
        ({"from_date": 10, "to_date": 5}, "date_invalid"),
        ({"from_date": 0, "to_date": 31 * 86_400_000}, "date_is_too_long"),
        ({"from_date": "1.5.0", "to_date": 2}, "date_invalid"),
    ],
)
async def test_date_errors(
    engine: AsyncEngine, client: httpx.AsyncClient, params: dict[str, object], code: str
) -> None:
    tenant = await make_tenant(engine)
    assert_failure(
        await client.get("/api/call_transaction/list", params=params, headers=tenant.headers),
        400,
        code,
    )


async def test_exactly_thirty_days_is_allowed(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(engine)
    r = await client.get(
        "/api/call_transaction/list",
        params={"from_date": 0, "to_date": 30 * 86_400_000},
        headers=tenant.headers,
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": 0}, "page"),
        ({"page": "x"}, "page"),
        ({"size": -1}, "size"),
        ({"direction": "sideways"}, "direction"),
        ({"disposition": "maybe"}, "disposition"),
        ({"is_auto_call": "perhaps"}, "is_auto_call"),
        ({"keyword": "x" * 101}, "keyword"),
    ],
)
async def test_bad_parameters_name_their_field(
    engine: AsyncEngine, client: httpx.AsyncClient, params: dict[str, object], field: str
) -> None:
    tenant = await make_tenant(engine)
    r = await client.get(
        "/api/call_transaction/list", params={**window(), **params}, headers=tenant.headers
    )
    assert_failure(r, 400, "validation_error")
    assert r.json()["payload"][0]["field"] == field


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "request_body_required"),
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "body_must_be_an_object"),
    ],
)
async def test_body_errors(
    engine: AsyncEngine, client: httpx.AsyncClient, content: bytes, code: str
) -> None:
    tenant = await make_tenant(engine)
    for path in ("/api/call_transaction/search", "/api/call_transaction/change/any"):
        r = await client.post(
            path, content=content, headers={**tenant.headers, "content-type": "application/json"}
        )
        assert_failure(r, 400, code)


@pytest.mark.parametrize(
    "path",
    [
        "/api/call_transaction/list?keyword=tien%00",
        "/api/call_transaction/list?sip_user=1%000",
        "/api/call_transaction/detail/abc%00def",
        "/api/call_transaction/report?agents=a%00b",
    ],
)
async def test_nul_bytes_are_refused_on_every_store(
    engine: AsyncEngine, client: httpx.AsyncClient, path: str
) -> None:
    tenant = await make_tenant(engine)
    r = await client.get(path, headers=tenant.headers)
    assert_failure(r, 400, "validation_error")
    assert r.json()["payload"][0]["code"] == "nul_byte"


async def test_nul_in_a_json_body_is_refused(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(engine)
    r = await client.post(
        "/api/call_transaction/change/x",
        content=b'{"note": "a\\u0000b"}',
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert_failure(r, 400, "validation_error")
    ok = await client.post(
        "/api/call_transaction/change/x",
        content=b'{"note": "a\\\\u0000b"}',  # a backslash, then text: no NUL
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert ok.status_code == 404
