"""Formula injection (issue 15): a text cell that would start a formula is quoted in every
export (dashboard, background job, CLI; csv, csv.gz, xlsx), the API keeps the value."""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import zipfile
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from callhistory.app import create_app
from callhistory.cli import app as cli_app
from callhistory.config import get_settings
from callhistory.db import create_engine
from callhistory.exports import cells
from tests.dashboard.support import browser, sign_in
from tests.factories import Tenant, add_agent, add_call, make_tenant, now_ms

PAYLOADS = ('=HYPERLINK("http://x","y")', "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1")
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
SHEET = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
# The free-text and PBX columns the payloads are planted in.
PLANTED = ("note", "tag", "customer", "agents", "source_number")


@dataclass(frozen=True)
class Planted:
    transaction_id: str
    values: dict[str, str]  # column -> what is stored (and what the API answers)
    quoted: bool  # whether the export must show each value with a quote in front


async def _plant(engine: AsyncEngine) -> tuple[Tenant, list[Planted]]:
    """One call per payload (in its note, tag, customer, agent name and caller number),
    and one call of ordinary values."""
    tenant = await make_tenant(engine, "formula")
    made = []
    for i, payload in enumerate((*PAYLOADS, None)):
        if payload is None:
            values = {
                "note": "Khách hẹn gọi lại - 15' sau",
                "tag": "VIP",
                "customer": "Nguyễn Văn Tiến",
                "agents": "Trần Thị Lan",
                "source_number": "0912345678",
            }
        else:
            # Tags are compared folded (spaces trimmed): "\t=1" and "\r=1" would be one.
            values = {k: payload for k in PLANTED} | {"tag": f"{payload} {i}"}
        agent = await add_agent(engine, tenant, values["agents"], str(300 + i))
        tx = await add_call(
            engine,
            tenant,
            created_date=now_ms() - 60_000 * (i + 1),
            agents_on_call=[agent],
            customer_name=values["customer"],
            note=values["note"],
            tags=[values["tag"]],
            source_number=values["source_number"],
            bill_sec=60,
        )
        made.append(Planted(tx, values, payload is not None))
    return tenant, made


def _expected(planted: Planted) -> dict[str, str]:
    if not planted.quoted:
        return planted.values
    return {k: "'" + v for k, v in planted.values.items()}


def _csv_rows(content: bytes) -> dict[str, dict[str, str]]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = csv.DictReader(io.StringIO(text[1:], newline=""))
    return {r["transaction_id"]: r for r in rows}


def _xlsx_rows(content: bytes) -> dict[str, dict[str, tuple[str, str]]]:
    """column -> (cell kind, text): "s" an inline string, "n" a number, "f" a formula."""
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        # Our own writer's output, made by this test: no untrusted XML here.
        root = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))  # noqa: S314
    table: list[list[tuple[str, str]]] = []
    for element in root.iter(f"{SHEET}row"):
        out = []
        for c in element.findall(f"{SHEET}c"):
            if c.find(f"{SHEET}f") is not None:
                out.append(("f", c.findtext(f"{SHEET}f") or ""))
            elif c.get("t") == "inlineStr":
                out.append(("s", "".join(t.text or "" for t in c.iter(f"{SHEET}t"))))
            else:
                assert c.get("t") in (None, "n"), c.attrib
                out.append(("n", c.findtext(f"{SHEET}v") or ""))
        table.append(out)
    head = [text for _, text in table[0]]
    found: dict[str, dict[str, tuple[str, str]]] = {}
    for cells_of_row in table[1:]:
        row = dict(zip(head, cells_of_row, strict=True))
        found[row["transaction_id"][1]] = row
    return found


def _check_csv(content: bytes, planted: list[Planted]) -> None:
    rows = _csv_rows(content)
    assert set(rows) == {p.transaction_id for p in planted}
    for p in planted:
        row = rows[p.transaction_id]
        assert {k: row[k] for k in PLANTED} == _expected(p), p
        assert row["duration"] == "65" and row["bill_sec"] == "60"  # numbers, unquoted


def _check_xlsx(content: bytes, planted: list[Planted]) -> None:
    rows = _xlsx_rows(content)
    assert set(rows) == {p.transaction_id for p in planted}
    for p in planted:
        row = rows[p.transaction_id]
        assert {k: row[k] for k in PLANTED} == {k: ("s", v) for k, v in _expected(p).items()}
        assert row["duration"] == ("n", "65") and row["bill_sec"] == ("n", "60")
        assert row["created_date"][0] == "n"
        assert all(kind != "f" for kind, _ in row.values())


async def _api_keeps_the_values(
    http: httpx.AsyncClient, tenant: Tenant, planted: list[Planted]
) -> None:
    for p in planted:
        answer = await http.get(
            f"/api/call_transaction/detail/{p.transaction_id}", headers=tenant.headers
        )
        assert answer.status_code == 200, answer.text
        item = answer.json()["payload"]
        assert item["note"] == p.values["note"]
        assert item["tag"] == [p.values["tag"]]
        assert item["customer"]["full_name"] == p.values["customer"]
        assert [u["full_name"] for u in item["user"]] == [p.values["agents"]]
        assert item["source_number"] == p.values["source_number"]


# --- the rule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        *PAYLOADS,
        "=1+1",
        "-5",
        "+84901234567",  # a number from a PBX is its text: quoted too (docs/exports.md)
        "\n=1",
        "\x00=1",
        "\tplain",  # a leading tab or CR is enough, whatever follows
        "\rplain",
        "  =1+1",  # leading white space, which some applications trim
        "\u00a0=1",
        "\u3000@SUM(A1)",
        "\u200b=1",  # a zero-width space, a BOM, a control character
        "\ufeff+1",
        "\x01=1",
        "\uff1d1+1",  # the full-width ＝＋－＠
        "\uff0b1",
        "\uff0d1",
        "\uff20SUM(A1)",
        "\ufe661",  # the small ﹦
    ],
)
def test_text_that_would_start_a_formula_is_quoted(text: str) -> None:
    assert cells.starts_formula(text)
    assert cells.neutralise(text) == "'" + text
    assert cells.neutralise(cells.neutralise(text)) == "'" + text  # quoting once is enough


@pytest.mark.parametrize(
    "text",
    ["", "   ", "Khách hẹn gọi lại", "0912345678", "a=b", "1-2", "e-mail", "'=1", "VIP", "x@y.vn"],
)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert not cells.starts_formula(text)
    assert cells.neutralise(text) == text


def test_numbers_stay_numbers() -> None:
    assert cells.row([-5, 3.5, 0, "-5", None]) == [-5, 3.5, 0, "'-5", None]


# --- every export path ------------------------------------------------------------------


async def test_dashboard_exports(engine: AsyncEngine) -> None:
    tenant, planted = await _plant(engine)
    start = datetime.now(ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    query = {
        "from": (start - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "to": (start + timedelta(hours=23, minutes=59)).strftime("%Y-%m-%dT%H:%M"),
    }
    async with browser(engine) as http:
        await sign_in(http, tenant.api_key)
        answer = await http.get("/export.csv", params=query)
        assert answer.status_code == 200
        _check_csv(answer.content, planted)
        book = await http.get("/export.xlsx", params=query)
        assert book.status_code == 200
        _check_xlsx(book.content, planted)
        await _api_keeps_the_values(http, tenant, planted)


@pytest.fixture
def export_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings = replace(get_settings(), export_dir=str(tmp_path))
    monkeypatch.setattr("callhistory.exports.routes.get_settings", lambda: settings)
    return tmp_path


async def _background(client: httpx.AsyncClient, tenant: Tenant, fmt: str) -> bytes:
    started = await client.post(
        "/api/exports",
        json={"from_date": 0, "to_date": now_ms(), "format": fmt},
        headers=tenant.headers,
    )
    assert started.status_code == 202, started.text
    export_id = started.json()["payload"]["id"]
    for _ in range(500):
        job = (await client.get(f"/api/exports/{export_id}", headers=tenant.headers)).json()
        if job["payload"]["status"] in ("done", "failed"):
            break
        await asyncio.sleep(0.02)
    assert job["payload"]["status"] == "done", job
    url = httpx.URL(job["payload"]["download_url"])
    got = await client.get(url.path, params=url.params)
    assert got.status_code == 200
    return got.content


async def test_background_exports(
    client: httpx.AsyncClient, engine: AsyncEngine, export_dir: Path
) -> None:
    tenant, planted = await _plant(engine)
    _check_csv(await _background(client, tenant, "csv"), planted)
    _check_csv(gzip.decompress(await _background(client, tenant, "csv.gz")), planted)
    _check_xlsx(await _background(client, tenant, "xlsx"), planted)
    await _api_keeps_the_values(client, tenant, planted)


def test_cli_exports(configured: str, tmp_path: Path) -> None:
    async def plant() -> tuple[Tenant, list[Planted]]:
        engine = create_engine(configured)
        try:
            return await _plant(engine)
        finally:
            await engine.dispose()

    tenant, planted = asyncio.run(plant())
    runner = CliRunner()
    for fmt in ("csv", "csv.gz", "xlsx"):
        out = tmp_path / f"calls.{fmt}"
        args = ["export", "--tenant", tenant.name, "--out", str(out), "--format", fmt]
        result = runner.invoke(cli_app, args)
        assert result.exit_code == 0, result.output
        content = out.read_bytes()
        if fmt == "xlsx":
            _check_xlsx(content, planted)
        else:
            _check_csv(gzip.decompress(content) if fmt == "csv.gz" else content, planted)

    async def api() -> None:
        engine = create_engine(configured)
        transport = httpx.ASGITransport(app=create_app(engine))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                await _api_keeps_the_values(http, tenant, planted)
        finally:
            await engine.dispose()

    asyncio.run(api())
