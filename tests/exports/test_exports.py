"""Background exports: same rows as the API, every format readable, flat memory, tenants."""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import re
import tracemalloc
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.config import get_settings
from callhistory.dashboard import export as dashboard_export
from callhistory.db import new_id
from callhistory.exports import runner
from callhistory.schema import calls
from tests.factories import DAY_MS, Tenant, add_call, make_tenant, now_ms


@pytest.fixture(autouse=True)
def export_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings = replace(get_settings(), export_dir=str(tmp_path))
    monkeypatch.setattr("callhistory.exports.routes.get_settings", lambda: settings)
    return tmp_path


async def export(
    client: httpx.AsyncClient, tenant: Tenant, **body: Any
) -> tuple[dict[str, Any], bytes]:
    body.setdefault("from_date", 0)
    body.setdefault("to_date", now_ms())
    started = await client.post("/api/exports", json=body, headers=tenant.headers)
    assert started.status_code == 202, started.text
    export_id = started.json()["payload"]["id"]
    for _ in range(500):
        shown = (await client.get(f"/api/exports/{export_id}", headers=tenant.headers)).json()
        if shown["payload"]["status"] in ("done", "failed"):
            break
        await asyncio.sleep(0.02)
    job: dict[str, Any] = shown["payload"]
    assert job["status"] == "done", job
    url = httpx.URL(job["download_url"])
    got = await client.get(url.path, params=url.params)  # no credentials: the link is signed
    assert got.status_code == 200
    return job, got.content


def xlsx_rows(content: bytes) -> list[list[str]]:
    """The sheet's cells as text, read straight from the zip (no openpyxl here)."""
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        assert "xl/workbook.xml" in book.namelist()
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    rows = []
    for row in re.findall(r"<row>(.*?)</row>", sheet, re.S):
        cells = re.findall(r"<t xml:space=\"preserve\">(.*?)</t>|<v>(.*?)</v>", row, re.S)
        rows.append([text or number for text, number in cells])
    return rows


async def test_csv_equals_the_api_rows_beyond_30_days(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    old = now_ms() - 90 * DAY_MS
    for n in range(5):
        await add_call(
            engine,
            tenant,
            created_date=old + n * 20 * DAY_MS,
            note=f"ghi chú {n}",
            direction="outbound" if n % 2 else "inbound",
        )
    job, content = await export(client, tenant, format="csv", date_format="%Y-%m-%d")
    assert job["rows_total"] == job["rows_done"] == 5
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    api_items: list[dict[str, Any]] = []
    for start in range(old - 1, now_ms(), 30 * DAY_MS):
        page = await client.get(
            "/api/call_transaction/list",
            params={"from_date": start, "to_date": min(start + 30 * DAY_MS - 1, now_ms())},
            headers=tenant.headers,
        )
        api_items = page.json()["payload"]["items"] + api_items
    assert [r["transaction_id"] for r in rows] == [i["transaction_id"] for i in api_items]
    for row, item in zip(rows, api_items, strict=True):
        assert row["direction"] == item["direction"]
        assert row["note"] == item["note"]
        assert int(row["duration"]) == item["duration"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", row["local_time"])
    filtered, _ = await export(client, tenant, format="csv", direction=["outbound"])
    assert filtered["rows_total"] == 2


async def test_gzip_and_xlsx(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    tx = await add_call(engine, tenant, note="Khách <VIP> & bạn")
    _, packed = await export(client, tenant, format="csv.gz")
    rows = list(csv.reader(io.StringIO(gzip.decompress(packed).decode("utf-8-sig"))))
    assert rows[1][0] == tx
    _, book = await export(client, tenant, format="xlsx", time_zone="UTC")
    sheet = xlsx_rows(book)
    assert sheet[0] == list(dashboard_export.COLUMNS)
    assert sheet[1][0] == tx
    assert "Khách &lt;VIP&gt; &amp; bạn" in sheet[1]


async def test_bad_options_and_links(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    bad = await client.post(
        "/api/exports",
        json={"from_date": 0, "to_date": 1, "format": "pdf"},
        headers=tenant.headers,
    )
    assert bad.json()["payload"] == [{"field": "format", "code": "invalid_choice"}]
    zone = await client.post(
        "/api/exports",
        json={"from_date": 0, "to_date": 1, "time_zone": "Mars/Base"},
        headers=tenant.headers,
    )
    assert zone.status_code == 400
    job, _ = await export(client, tenant)
    url = httpx.URL(job["download_url"])
    forged = dict(url.params)
    forged["expires"] = str(int(forged["expires"]) + 1)
    denied = await client.get(url.path, params=forged)
    assert denied.status_code == 403
    assert denied.json()["message"] == "download_link_invalid"


async def test_tenant_isolation(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    a, b = await make_tenant(engine), await make_tenant(engine)
    mine = await add_call(engine, a)
    await add_call(engine, b)
    job, content = await export(client, a)
    assert mine in content.decode() and content.decode().count("\n") == 2
    other = await client.get(f"/api/exports/{job['id']}", headers=b.headers)
    assert other.status_code == 404
    url = httpx.URL(job["download_url"])
    swapped = dict(url.params)
    swapped["tenant"] = b.id
    assert (await client.get(url.path, params=swapped)).status_code == 403


async def _bulk_calls(engine: AsyncEngine, tenant: Tenant, n: int) -> None:
    start = now_ms() - 400 * DAY_MS
    rows = [
        {
            "tenant_id": tenant.id,
            "transaction_id": f"bulk-{i:06d}",
            "id": new_id(),
            "created_date": start + i * 60_000,
            "last_updated_date": start,
            "direction": "inbound",
            "disposition": "answered",
            "note": "x" * 200,
        }
        for i in range(n)
    ]
    async with engine.begin() as conn:
        for i in range(0, n, 1000):
            await conn.execute(calls.insert(), rows[i : i + 1000])


async def test_memory_stays_flat(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard_export, "BATCH", 200)
    peaks = []
    for n in (1000, 5000):
        tenant = await make_tenant(engine)
        await _bulk_calls(engine, tenant, n)
        f = runner.call_filter({"from_date": 0, "to_date": now_ms()})
        tracemalloc.start()
        size = await runner.write_file(
            engine,
            tenant.id,
            f,
            "xlsx",
            "UTC",
            runner.DEFAULT_DATE_FORMAT,
            tmp_path / f"{n}.xlsx",
        )
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert len(xlsx_rows((tmp_path / f"{n}.xlsx").read_bytes())) == n + 1
        assert size > 0
    # Five times the rows, about the same peak (a batch), not five times the memory.
    assert peaks[1] < peaks[0] * 1.6, peaks
