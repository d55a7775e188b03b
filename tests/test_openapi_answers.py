"""Every operation of the OpenAPI document, called with real data (a demo tenant, scored,
tagged, fed by FreeSWITCH and batches, exported): each answer's status is declared for
it, and its body validates against the declared schema (`additionalProperties: false`
everywhere, so an undocumented field fails too). The schemathesis run (tests/test_fuzz.py)
mostly meets empty pages and 4xx; this test fills the items. A new operation fails it
until it is called below."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs  # schemathesis' validator
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.config import get_settings
from callhistory.demo import generate
from callhistory.webhooks import worker
from tests.factories import DAY_MS, now_ms
from tests.ingest.freeswitch_posts import document, post_leg


@pytest.fixture(autouse=True)
def export_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings = replace(get_settings(), export_dir=str(tmp_path))
    monkeypatch.setattr("callhistory.exports.routes.get_settings", lambda: settings)
    return tmp_path


class Checked:
    """Calls the API and checks each answer against the document."""

    def __init__(self, client: httpx.AsyncClient, doc: dict[str, Any], api_key: str) -> None:
        self.client, self.doc, self.api_key = client, doc, api_key
        self.headers = {"x-api-key": api_key}
        self.seen: dict[tuple[str, str], set[int]] = {}

    def check(self, method: str, template: str, r: httpx.Response) -> None:
        operation = self.doc["paths"][template][method.lower()]
        declared = operation["responses"]
        assert str(r.status_code) in declared, (method, template, r.status_code, r.text)
        self.seen.setdefault((method.lower(), template), set()).add(r.status_code)
        content = declared[str(r.status_code)].get("content", {})
        if not content and "content-type" not in r.headers:  # a redirect
            return
        media = r.headers["content-type"]
        assert media in content or media.split(";")[0] in content, (template, media, content)
        if not media.startswith("application/json"):
            return
        schema = content.get(media, content.get("application/json"))["schema"]
        root = {**schema, "components": self.doc["components"]}
        errors = [
            f"{'/'.join(map(str, e.instance_path))}: {e.message}"
            for e in jsonschema_rs.Draft202012Validator(root).iter_errors(r.json())
        ]
        assert not errors, (method, template, r.status_code, errors[:5])

    async def __call__(
        self, method: str, template: str, path: str | None = None, **kwargs: Any
    ) -> Any:
        kwargs.setdefault("headers", self.headers)
        r = await self.client.request(method, path or template, **kwargs)
        self.check(method, template, r)
        return r.json()["payload"] if r.headers.get("content-type") == "application/json" else r


async def test_every_answer_matches_the_document(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    doc = (await client.get("/openapi.json")).json()
    demo = await generate(engine, f"answers-{secrets.token_hex(4)}", 120, 3, False)
    api = Checked(client, doc, demo.api_key)
    now = now_ms()
    window = {"from_date": now - 30 * DAY_MS, "to_date": now}

    # operations and auth
    await api("GET", "/healthz")
    await api("GET", "/readyz")
    token = await api("GET", "/api/auth", params={"apiKey": demo.api_key})
    await api("GET", "/api/auth", params={"apiKey": "ch_wrong"})
    bearer = {"authorization": f"Bearer {token['access_token']}"}

    # directories: one good item and one refused of each kind, then every list
    items = {
        "agents": {"full_name": "Võ Thị Mai", "email": "mai@answers.vn", "sip_user": "190"},
        "customers": {"full_name": "Khách Mới", "phones": ["+84 912 000 111"]},
        "hotlines": {"number": "02873009999", "name": "Số mới"},
        "queues": {"number": "5009", "name": "mới"},
        "prices": {
            "carrier": "viettel",
            "price_per_minute": 1100,
            "first_block_sec": 6,
            "next_block_sec": 6,
        },
    }
    for kind, item in items.items():
        await api("POST", f"/api/{kind}/bulk", json={"items": [item, {"x": 1}]})
    await api("POST", "/api/agents/bulk", json={"items": "nope"})
    for path in (
        "/api/agent/list",
        "/api/call_center/internal_phone/list",
        "/api/call_center/hotline/list",
        "/api/call_center/internal_group/list",
        "/api/customers/list",
        "/api/prices/list",
    ):
        await api("GET", path, params={"size": 50})
    agents = (await api("GET", "/api/agent/list", params={"size": 50}))["items"]

    # criteria
    first = await api(
        "POST", "/api/evaluation_criteria/call", json={"name": "Chào", "max_score": 5}
    )
    second = await api(
        "POST",
        "/api/evaluation_criteria/call",
        json={"name": "Xác minh", "max_score": 10, "weight": 1.5},
    )
    await api("POST", "/api/evaluation_criteria/call", json={"name": "Chào", "max_score": 5})
    criteria = "/api/evaluation_criteria/call/{criteria_id}"
    await api("PUT", criteria, f"/api/evaluation_criteria/call/{second['id']}", json={"weight": 2})
    await api("PUT", "/api/evaluation_criteria/call/order", json={"ids": [second["id"]]})
    await api("GET", "/api/evaluation_criteria/call/list", params={"include_inactive": "true"})

    # calls: a page, one scored twice (201, then 200), changed, in detail, searched
    listed = await api("GET", "/api/call_transaction/list", params={**window, "size": 50})
    assert listed["items"], "the demo has calls in the last 30 days"
    call = next(i for i in listed["items"] if i["user"] and i["sip_user"])
    tx = call["transaction_id"]
    scored = "/api/call_transaction/add_evaluation/{transaction_id}"
    evaluation = {
        "user_uuid": agents[0]["email"],
        "evaluation": {
            "criteria": [
                {"criteria_id": first["id"], "score": 4, "note": "tốt"},
                {"criteria_id": second["id"], "score": 7.5},
            ],
            "note": "Ổn",
        },
    }
    path = f"/api/call_transaction/add_evaluation/{tx}"
    await api("POST", scored, path, json=evaluation)
    await api("POST", scored, path, json=evaluation)
    await api("POST", scored, "/api/call_transaction/add_evaluation/nope", json=evaluation)
    changed = "/api/call_transaction/change/{transaction_id}"
    await api("POST", changed, f"/api/call_transaction/change/{tx}", json={"tag": ["VIP"]})
    await api(
        "POST",
        changed,
        f"/api/call_transaction/change/{tx}",
        json={"user_uuid": call["sip_user"], "note": "gọi lại", "tag": ["hẹn"]},
    )
    detail = "/api/call_transaction/detail/{transaction_id}"
    await api("GET", detail, f"/api/call_transaction/detail/{tx}", headers=bearer)
    await api("GET", detail, "/api/call_transaction/detail/nope")
    await api("GET", "/api/call_transaction/list", params={**window, "keyword": tx[:12]})
    await api("GET", "/api/call_transaction/list", params={"from_date": "x", "to_date": 1})
    await api(
        "POST",
        "/api/call_transaction/search",
        params={"size": 50},
        json={**window, "user_uuids": [a["user_uuid"] or a["sip_user"] for a in agents]},
    )
    await api("GET", "/api/call_transaction/report", params=window)
    await api("GET", "/api/evaluations/report", params=window)
    await api("DELETE", criteria, f"/api/evaluation_criteria/call/{first['id']}")

    # tags
    tags = await api("GET", "/api/tags", params={"size": 50})
    assert tags["items"]
    made = await api("POST", "/api/tags", json={"name": "Tag mới"})
    await api("POST", "/api/tags", json={"name": "tag MỚI"})
    await api("PUT", "/api/tags/{tag_id}", f"/api/tags/{made['id']}", json={"name": "Tag 2"})
    await api("DELETE", "/api/tags/{tag_id}", f"/api/tags/{made['id']}")
    await api("DELETE", "/api/tags/{tag_id}", f"/api/tags/{made['id']}")

    # ingest: a FreeSWITCH leg (and a refused one), a batch, the rejections
    leg = await post_leg(client, demo.api_key, document("outbound-answered-aleg"))
    api.check("POST", "/api/cdr/freeswitch", leg)
    api.check("POST", "/api/cdr/freeswitch", await post_leg(client, demo.api_key, b"{"))
    api.check("POST", "/api/cdr/freeswitch", await post_leg(client, "ch_wrong", b"{}"))
    batch = [
        {
            "transaction_id": f"batch-{secrets.token_hex(4)}",
            "created_date": now - DAY_MS,
            "source_number": "0912345678",
            "destination_number": "19001234",
            "direction": "inbound",
            "disposition": "answered",
            "bill_sec": 30,
            "tag": ["batch"],
            "note": "từ CRM",
        },
        {"transaction_id": "bad"},
    ]
    await api("POST", "/api/cdr", json=batch)
    await api("GET", "/api/cdr/rejections", params={"limit": 10})

    # webhooks: register, deliveries made by the worker's fan-out, redeliver, destroy
    hook = {"webhook": {"type": "call", "url": "https://hooks.example.vn/calls"}}
    await api("POST", "/api/webhooks/register", json=hook)
    await api("GET", "/api/webhooks/list")
    await api("POST", changed, f"/api/call_transaction/change/{tx}", json={"note": "sau"})
    await worker.fan_out_all(engine, now_ms())
    deliveries = await api("GET", "/api/webhooks/deliveries", params={"status": "pending"})
    redeliver = "/api/webhooks/deliveries/{delivery_id}/redeliver"
    if deliveries["items"]:
        delivery = deliveries["items"][0]["id"]
        await api("POST", redeliver, f"/api/webhooks/deliveries/{delivery}/redeliver")
    await api("POST", redeliver, "/api/webhooks/deliveries/nope/redeliver")
    await api("POST", "/api/webhooks/destroy", params={"hook_type": "call"})
    await api("POST", "/api/webhooks/destroy", params={"hook_type": "call"})

    # sync: from a date, then on from the cursor
    synced = await api("GET", "/api/call_transaction/sync", params={"from_date": 0, "size": 20})
    await api("GET", "/api/call_transaction/sync", params={"cursor": synced["cursor"]})
    await api("GET", "/api/call_transaction/sync")

    # exports: started, finished, downloaded; a forged link
    started = await api("POST", "/api/exports", json={"from_date": 0, "to_date": now_ms()})
    status = "/api/exports/{export_id}"
    for _ in range(500):
        job = await api("GET", status, f"/api/exports/{started['id']}")
        if job["status"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.02)
    assert job["status"] == "done", job
    await api("GET", status, "/api/exports/nope")
    link = httpx.URL(job["download_url"])
    download = "/api/exports/{export_id}/download"
    await api("GET", download, link.path, params=link.params, headers={})
    forged = {**dict(link.params), "sig": "0" * 64}
    await api("GET", download, link.path, params=forged, headers={})

    # recordings: nothing configured, so the call's own link; a signed link; a forged one
    found = await api(
        "GET", "/api/call_transaction/list", params={**window, "has_recording": "true", "size": 1}
    )
    tx = found["items"][0]["transaction_id"]
    play = "/api/call_transaction/recording/{transaction_id}"
    await api("GET", play, f"/api/call_transaction/recording/{tx}", follow_redirects=False)
    await api("GET", play, "/api/call_transaction/recording/nope")
    made = await api("GET", f"{play}/link", f"/api/call_transaction/recording/{tx}/link")
    await api("GET", f"{play}/link", "/api/call_transaction/recording/nope/link")
    signed, url = "/api/recordings/{transaction_id}", httpx.URL(made["url"])
    await api("GET", signed, url.path, params=url.params, headers={}, follow_redirects=False)
    forged = {**dict(url.params), "sig": "0" * 64}
    await api("GET", signed, url.path, params=forged, headers={})

    # statistics: totals, buckets, a bad interval
    for path in ("/api/stats/agents", "/api/stats/queues"):
        await api("GET", path, params={**window, "interval": "day"})
        await api("GET", path)
        await api("GET", path, params={"interval": "month"})

    # erasing a call, then one that is not there
    erase = "/api/call_transaction/detail/{transaction_id}"
    await api("DELETE", erase, f"/api/call_transaction/detail/{tx}")
    await api("DELETE", erase, f"/api/call_transaction/detail/{tx}")

    # every operation of the document was called
    operations = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert operations - set(api.seen) == set()
