"""Keys scoped to one agent ("my calls"): the key sees only the calls its agent took part
in, on every endpoint that reads calls, and is refused everywhere else, as another
tenant's key would be kept out of this one's data."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from callhistory.auth import keys
from callhistory.cli import app as cli_app
from callhistory.db import create_engine
from callhistory.schema import calls
from tests.dashboard.support import browser
from tests.exports.test_exports import export_dir  # noqa: F401 (a fixture)
from tests.factories import DAY_MS, Tenant, add_agent, add_call, make_tenant, now_ms
from tests.ingest.freeswitch_posts import document, post_leg

# The operations an agent's key may call, each answering only the agent's calls.
SCOPED = {
    ("get", "/api/call_transaction/list"),
    ("get", "/api/call_transaction/detail/{transaction_id}"),
    ("post", "/api/call_transaction/change/{transaction_id}"),
    ("post", "/api/call_transaction/search"),
    ("get", "/api/call_transaction/report"),
    ("get", "/api/call_transaction/sync"),
    ("get", "/api/call_transaction/recording/{transaction_id}"),
    ("get", "/api/call_transaction/recording/{transaction_id}/link"),
    ("post", "/api/exports"),
    ("get", "/api/exports/{export_id}"),
    ("get", "/api/tags"),  # the catalogue, to filter by tag ids
    ("get", "/api/stats/agents"),  # its own line
}
# Operations that take no key, or take it themselves.
OPEN = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/api/auth"),
    ("get", "/api/exports/{export_id}/download"),
    ("get", "/api/recordings/{transaction_id}"),
}
INGEST = ("post", "/api/cdr/freeswitch")


@dataclass
class Center:
    tenant: Tenant
    headers: dict[str, str]  # the agent Lan's key
    lan: set[str]  # the calls Lan took part in
    others: set[str]
    window: dict[str, int]


@pytest.fixture
async def center(engine: AsyncEngine) -> Center:
    tenant = await make_tenant(engine, "agents")
    lan = await add_agent(engine, tenant, "Trần Thị Lan", "101", "lan@center.vn")
    minh = await add_agent(engine, tenant, "Phạm Văn Minh", "102", "minh@center.vn")
    base = now_ms() - 3 * DAY_MS
    mine, others = set(), set()
    for n, on_call in enumerate([[lan], [lan], [minh, lan], [minh], [minh], []]):
        made = await add_call(
            engine,
            tenant,
            created_date=base + n * 3_600_000,
            agents_on_call=on_call,
            note=f"call {n}",
            recording_file=f"https://rec.center.vn/{n}.mp3",
        )
        (mine if lan in on_call else others).add(made)
    async with engine.begin() as conn:
        agent_id = await keys.agent_with_email(conn, tenant.id, "LAN@center.vn")
        assert agent_id == lan.id
        _, api_key = await keys.create_key(conn, tenant.id, "lan's", agent_id)
    window = {"from_date": base - 1, "to_date": now_ms()}
    return Center(tenant, {"x-api-key": api_key}, mine, others, window)


def _ids(answer: httpx.Response) -> set[str]:
    assert answer.status_code == 200, answer.text
    return {item["transaction_id"] for item in answer.json()["payload"]["items"]}


async def test_reads_answer_only_the_agents_calls(
    client: httpx.AsyncClient, center: Center
) -> None:
    listed = await client.get(
        "/api/call_transaction/list", params=center.window, headers=center.headers
    )
    assert _ids(listed) == center.lan
    assert listed.json()["payload"]["total_items"] == len(center.lan)
    everyone = await client.get(
        "/api/call_transaction/list", params=center.window, headers=center.tenant.headers
    )
    assert _ids(everyone) == center.lan | center.others  # the tenant's key: all of them
    body = {**center.window, "user_uuids": ["101", "102"]}
    searched = await client.post("/api/call_transaction/search", json=body, headers=center.headers)
    assert _ids(searched) == center.lan
    report = await client.get(
        "/api/call_transaction/report", params=center.window, headers=center.headers
    )
    totals = report.json()["payload"]["categorized_by_direction"]
    assert sum(row["total_count"] for row in totals) == len(center.lan)
    synced = await client.get(
        "/api/call_transaction/sync", params={"from_date": 0, "size": 200}, headers=center.headers
    )
    assert _ids(synced) == center.lan
    for transaction_id in center.lan:
        detail = await client.get(
            f"/api/call_transaction/detail/{transaction_id}", headers=center.headers
        )
        assert detail.status_code == 200
        played = await client.get(
            f"/api/call_transaction/recording/{transaction_id}", headers=center.headers
        )
        assert played.status_code == 307


async def test_other_agents_calls_are_not_there(
    client: httpx.AsyncClient, engine: AsyncEngine, center: Center
) -> None:
    for transaction_id in center.others:
        for method, path, body in (
            ("GET", f"/api/call_transaction/detail/{transaction_id}", None),
            ("POST", f"/api/call_transaction/change/{transaction_id}", {"note": "mine now"}),
            ("GET", f"/api/call_transaction/recording/{transaction_id}", None),
            ("GET", f"/api/call_transaction/recording/{transaction_id}/link", None),
        ):
            answer = await client.request(method, path, json=body, headers=center.headers)
            assert (answer.status_code, answer.json()["message"]) == (
                404,
                "transaction_not_found",
            ), path
    async with engine.connect() as conn:
        notes = set(
            await conn.scalars(select(calls.c.note).where(calls.c.tenant_id == center.tenant.id))
        )
    assert "mine now" not in notes
    mine = sorted(center.lan)[0]
    changed = await client.post(
        f"/api/call_transaction/change/{mine}", json={"note": "gọi lại"}, headers=center.headers
    )
    assert changed.status_code == 200 and changed.json()["payload"]["note"] == "gọi lại"


async def test_a_token_of_the_agents_key_is_scoped_too(
    client: httpx.AsyncClient, center: Center
) -> None:
    auth = await client.get("/api/auth", params={"apiKey": center.headers["x-api-key"]})
    token = auth.json()["payload"]["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    listed = await client.get("/api/call_transaction/list", params=center.window, headers=bearer)
    assert _ids(listed) == center.lan
    refused = await client.get("/api/webhooks/list", headers=bearer)
    assert (refused.status_code, refused.json()["message"]) == (403, "agent_key_not_allowed")


async def test_exports_hold_the_agents_calls_and_only_its_own(
    client: httpx.AsyncClient, center: Center
) -> None:
    async def finished(headers: dict[str, str]) -> dict[str, Any]:
        body = {"from_date": 0, "to_date": now_ms(), "format": "csv"}
        started = await client.post("/api/exports", json=body, headers=headers)
        assert started.status_code == 202, started.text
        export_id = started.json()["payload"]["id"]
        for _ in range(500):
            shown = await client.get(f"/api/exports/{export_id}", headers=headers)
            if shown.json()["payload"]["status"] == "done":
                return dict(shown.json()["payload"])
            await asyncio.sleep(0.02)
        raise AssertionError("the export did not finish")

    job = await finished(center.headers)
    link = httpx.URL(job["download_url"])
    content = (await client.get(link.path, params=link.params)).content.decode("utf-8-sig")
    assert {row["transaction_id"] for row in csv.DictReader(io.StringIO(content))} == center.lan
    tenants_export = await finished(center.tenant.headers)
    peek = await client.get(f"/api/exports/{tenants_export['id']}", headers=center.headers)
    assert (peek.status_code, peek.json()["message"]) == (404, "export_not_found")


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "some-id", path)


async def test_every_other_operation_refuses_the_agents_key(
    client: httpx.AsyncClient, center: Center
) -> None:
    """Default deny: a new endpoint refuses agents' keys until it says how it scopes."""
    doc = (await client.get("/openapi.json")).json()
    operations = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert operations | OPEN >= SCOPED | OPEN, sorted(SCOPED - operations)
    refused = sorted(operations - SCOPED - OPEN - {INGEST})
    assert len(refused) > 20, refused
    for method, path in refused:
        answer = await client.request(method, _concrete(path), json={}, headers=center.headers)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["message"] == "agent_key_not_allowed", (method, path)
    posted = await post_leg(client, center.headers["x-api-key"], document("local-answered-aleg"))
    assert (posted.status_code, posted.json()["message"]) == (403, "agent_key_not_allowed")


async def test_the_dashboard_does_not_open_with_an_agents_key(
    engine: AsyncEngine, center: Center
) -> None:
    async with browser(engine) as http:
        page = await http.get("/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        signed = await http.post(
            "/signin", data={"csrf": csrf.group(1), "api_key": center.headers["x-api-key"]}
        )
        assert signed.status_code != 303
        assert (await http.get("/calls")).status_code in (302, 303, 307)


async def test_revoked_it_stops(
    client: httpx.AsyncClient, engine: AsyncEngine, center: Center
) -> None:
    key_id = center.headers["x-api-key"].split("_")[2]
    async with engine.begin() as conn:
        assert await keys.revoke_key(conn, key_id)
    answer = await client.get(
        "/api/call_transaction/list", params=center.window, headers=center.headers
    )
    assert answer.status_code == 401


def test_the_command_makes_and_lists_an_agents_key(configured: str, engine: AsyncEngine) -> None:
    # `engine` migrates the database the command opens
    async def tenant() -> Tenant:
        own = create_engine(configured)
        try:
            made = await make_tenant(own, "agent-cli")
            await add_agent(own, made, "Lê Hoa", "105", "hoa@center.vn")
            return made
        finally:
            await own.dispose()

    made = asyncio.run(tenant())
    runner = CliRunner()
    base = ["key", "create", "--tenant", made.name]
    created = runner.invoke(cli_app, [*base, "--name", "hoa", "--agent", "Hoa@Center.vn"])
    assert created.exit_code == 0, created.output
    assert created.stdout.strip().startswith("ch_")
    unknown = runner.invoke(cli_app, [*base, "--agent", "nobody@center.vn"])
    assert unknown.exit_code != 0 and "no agent with email" in unknown.output
    listed = runner.invoke(cli_app, ["key", "list", "--tenant", made.name, "--json"])
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["agent"]) for r in rows] == [("test", None), ("hoa", "hoa@center.vn")]
