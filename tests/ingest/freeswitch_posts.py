"""Posting mod_json_cdr documents the way the module does, and a tenant set up like the
call center behind tests/fixtures/freeswitch (agents 101-105, hotline, queue, prices)."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import Tenant, add_agent, make_tenant

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "freeswitch"
ENCODINGS = ("json", "urlencoded", "base64")
AGENTS = {
    "101": "Nguyễn Văn An",
    "102": "Trần Thị Bích",
    "103": "Lê Hoàng Cường",
    "104": "Phạm Minh Đức",
    "105": "Đặng Thu Hà",
}
VIETTEL_RATE = (1_100, 6, 6)  # VND per minute, 6 s + 6 s blocks
PRICE_FIELDS = ("carrier", "price_per_minute", "first_block_sec", "next_block_sec")


def document(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def encoded(raw: bytes, encoding: str) -> tuple[bytes, str]:
    """The body and content type mod_json_cdr sends with `encode` false, true, base64."""
    if encoding == "json":
        return raw, "application/json"
    if encoding == "urlencoded":
        return b"cdr=" + quote(raw, safe="").encode(), "application/x-www-form-urlencoded"
    return b"cdr=" + base64.b64encode(raw), "application/x-www-form-base64-encoded"


async def post_leg(
    client: httpx.AsyncClient,
    api_key: str,
    raw: bytes,
    encoding: str = "json",
    uuid: str | None = None,
) -> httpx.Response:
    body, content_type = encoded(raw, encoding)
    return await client.post(
        "/api/cdr/freeswitch",
        params={"uuid": uuid} if uuid else None,
        content=body,
        headers={"content-type": content_type, "user-agent": "freeswitch-json/1.0"},
        auth=("freeswitch", api_key),
    )


async def call_center(engine: AsyncEngine, client: httpx.AsyncClient) -> Tenant:
    tenant = await make_tenant(engine, "fs")
    for extension, name in AGENTS.items():
        tenant.agents.append(await add_agent(engine, tenant, name, extension))
    for kind, item in (
        ("hotlines", {"number": "19001234", "name": "Tổng đài CSKH"}),
        ("hotlines", {"number": "02873001234", "name": "Số gọi ra"}),
        ("queues", {"number": "5001", "name": "cskh"}),
        ("customers", {"full_name": "Trần Văn Tiến", "phones": ["0912345678"]}),
        ("customers", {"full_name": "Đỗ Thị Lan", "phones": ["0987654321"]}),
        ("prices", dict(zip(PRICE_FIELDS, ("viettel", *VIETTEL_RATE), strict=True))),
    ):
        answer = await client.post(
            f"/api/{kind}/bulk", json={"items": [item]}, headers=tenant.headers
        )
        assert answer.status_code == 200, answer.text
    return tenant
