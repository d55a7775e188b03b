"""Probes, metrics, request ids, JSON logs, and a 503 when the database is away."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.app import create_app
from callhistory.db import create_engine
from callhistory.ops import JsonFormatter, request_id
from tests.factories import make_tenant
from tests.ingest.freeswitch_posts import document, post_leg


def client_for(engine: AsyncEngine) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(engine), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_probes(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json()["payload"] == {"status": "up"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["payload"]["status"] == "ready"


async def test_not_ready_before_migrations(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        async with client_for(engine) as client:
            answer = await client.get("/readyz")
        assert (answer.status_code, answer.json()["message"]) == (503, "migrations_pending")
    finally:
        await engine.dispose()


async def test_database_down_is_a_503_not_a_500() -> None:
    engine = create_engine("postgresql://postgres@127.0.0.1:1/nowhere")
    try:
        async with client_for(engine) as client:
            ready = await client.get("/readyz")
            assert (ready.status_code, ready.json()["message"]) == (503, "database_unavailable")
            api = await client.get("/api/call_transaction/report", headers={"x-api-key": "ch_x"})
            assert (api.status_code, api.json()["message"]) == (503, "database_unavailable")
            assert api.headers["retry-after"] == "5"
            assert (await client.get("/healthz")).status_code == 200  # the process is up
    finally:
        await engine.dispose()


async def test_request_ids(client: httpx.AsyncClient) -> None:
    made = await client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 16
    given = await client.get("/healthz", headers={"x-request-id": "lb-1234"})
    assert given.headers["x-request-id"] == "lb-1234"
    odd = await client.get("/healthz", headers={"x-request-id": "x" * 500})
    assert odd.headers["x-request-id"] != "x" * 500
    missing = await client.get("/no/such/path")
    assert missing.status_code == 404 and missing.headers["x-request-id"]


async def test_metrics_count_routes_not_paths(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(engine)
    for tx in ("a1", "b2"):
        await client.get(f"/api/call_transaction/detail/{tx}", headers=tenant.headers)
    await post_leg(client, tenant.api_key, document("local-answered-aleg"))
    await post_leg(client, tenant.api_key, b"{broken")
    text = (await client.get("/metrics")).text
    assert 'route="/api/call_transaction/detail/{transaction_id}",status="404"' in text
    assert "/detail/a1" not in text
    assert 'callhistory_ingested_calls_total{outcome="stored"}' in text
    assert 'callhistory_rejected_total{reason="invalid_json"}' in text
    assert "callhistory_request_seconds_bucket" in text


def test_json_logs_carry_the_request_id() -> None:
    token = request_id.set("req-42")
    try:
        record = logging.LogRecord(
            "callhistory", logging.INFO, __file__, 1, "hello %s", ("vn",), None
        )
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert line["message"] == "hello vn" and line["request_id"] == "req-42"
    assert line["level"] == "info"
