"""The calls table, a call's page, reports and exports, against the API's own answers."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.config import get_settings
from callhistory.dashboard import i18n
from tests.dashboard.support import browser, row_ids, sign_in
from tests.factories import Tenant, add_agent, add_call, make_tenant

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def _window() -> tuple[str, str, int, int]:
    """Yesterday and today, local: as the dashboard's URL says it and in epoch ms."""
    start = datetime.now(ZONE).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=1
    )
    end = start + timedelta(days=1, hours=23, minutes=59)
    return (
        start.strftime("%Y-%m-%dT%H:%M"),
        end.strftime("%Y-%m-%dT%H:%M"),
        int(start.timestamp() * 1000),
        int(end.timestamp() * 1000) + 59_999,
    )


async def _calls(engine: AsyncEngine) -> tuple[Tenant, list[str]]:
    tenant = await make_tenant(engine)
    lan = await add_agent(engine, tenant, "Trần Thị Lan", "101")
    minh = await add_agent(engine, tenant, "Phạm Văn Minh", "102")
    _, _, start, _ = _window()
    made = []
    for i in range(7):
        made.append(
            await add_call(
                engine,
                tenant,
                created_date=start + 3_600_000 * (i + 1),
                direction="inbound" if i % 2 else "outbound",
                disposition="answered" if i % 3 else "cancelled",
                agents_on_call=[lan if i < 4 else minh],
                customer_name="Nguyễn Văn Tiến" if i in (1, 2, 3) else "Lê Hoa",
                bill_sec=30 * i,
            )
        )
    return tenant, made


async def _api_list(http: httpx.AsyncClient, tenant: Tenant, **query: object) -> list[str]:
    answer = await http.get("/api/call_transaction/list", params=query, headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    return [item["transaction_id"] for item in answer.json()["payload"]["items"]]


async def test_filters_in_the_url_give_the_api_rows(engine: AsyncEngine) -> None:
    tenant, _ = await _calls(engine)
    start, end, from_ms, to_ms = _window()
    async with browser(engine) as http:
        await sign_in(http, tenant.api_key)
        page = await http.get(
            "/calls", params={"from": start, "to": end, "keyword": "tien", "direction": "inbound"}
        )
        shown = row_ids(page.text)
        expected = await _api_list(
            http, tenant, from_date=from_ms, to_date=to_ms, keyword="tien", direction="inbound"
        )
        assert shown == expected
        assert len(shown) == 2
        assert 'value="tien"' in page.text  # the filter stays in the form
        everything = await http.get("/calls", params={"from": start, "to": end})
        assert row_ids(everything.text) == await _api_list(
            http, tenant, from_date=from_ms, to_date=to_ms
        )


async def test_call_quality_filters_give_the_api_rows(engine: AsyncEngine) -> None:
    tenant, _ = await _calls(engine)  # durations 5, 35, 65 … 185 seconds
    start, end, from_ms, to_ms = _window()
    async with browser(engine) as http:
        await sign_in(http, tenant.api_key)
        form = {"from": start, "to": end, "min_duration": "60", "max_duration": "130"}
        page = await http.get("/calls", params={**form, "has_recording": "", "min_mos": ""})
        expected = await _api_list(
            http, tenant, from_date=from_ms, to_date=to_ms, min_duration=60, max_duration=130
        )
        assert row_ids(page.text) == expected
        assert len(expected) == 3
        assert 'name="min_duration" value="60"' in page.text  # kept in the form
        assert "min_duration=60&amp;max_duration=130" in page.text  # and in its links
        bad = await http.get("/calls", params={**form, "min_duration": "200"})
        assert bad.status_code == 400


async def test_paging_and_sorting(engine: AsyncEngine) -> None:
    tenant, _ = await _calls(engine)
    start, end, from_ms, to_ms = _window()
    async with browser(engine) as http:
        await sign_in(http, tenant.api_key)
        base = {"from": start, "to": end, "size": "25"}
        first = await http.get("/calls", params=base)
        assert 'data-total="7"' in first.text
        by_duration = await http.get("/calls", params={**base, "sort": "duration", "order": "asc"})
        seconds = [int(s) for s in re.findall(r'data-seconds="(\d+)"', by_duration.text)]
        assert seconds == sorted(seconds)
        assert len(seconds) == 7
        api = await _api_list(http, tenant, from_date=from_ms, to_date=to_ms)
        assert row_ids(first.text) == api
        bad = await http.get("/calls", params={"from": start, "to": end, "direction": "sideways"})
        assert bad.status_code == 400


async def test_an_agents_calls_page_by_page_as_the_api(engine: AsyncEngine) -> None:
    """Newest first, an agent's calls come from its own rows (calls.parts) as in the
    API; sorted otherwise, from the calls' own index: both give the API's rows."""
    tenant = await make_tenant(engine)
    lan = await add_agent(engine, tenant, "Trần Thị Lan", "101")
    minh = await add_agent(engine, tenant, "Phạm Văn Minh", "102")
    start, end, from_ms, to_ms = _window()
    for i in range(40):  # 30 of Lan's, with equal times in pairs (ties by id)
        agent = minh if i % 4 == 3 else lan
        at = from_ms + 3_600_000 * (1 + i // 2)
        await add_call(engine, tenant, created_date=at, agents_on_call=[agent], bill_sec=i)
    async with browser(engine) as http:
        await sign_in(http, tenant.api_key)
        form = {"from": start, "to": end, "agents[]": lan.email, "size": "25"}
        shown = []
        for number in (1, 2):
            page = await http.get("/calls", params={**form, "page": str(number)})
            assert 'data-total="30"' in page.text
            shown.append(row_ids(page.text))
        api = [
            await _api_list(
                http, tenant, from_date=from_ms, to_date=to_ms, agents=lan.email,
                page=number, size=25,
            )
            for number in (1, 2)
        ]  # fmt: skip
        assert shown == api and [len(ids) for ids in shown] == [25, 5]
        by_duration = await http.get("/calls", params={**form, "sort": "duration", "order": "asc"})
        seconds = [int(s) for s in re.findall(r'data-seconds="(\d+)"', by_duration.text)]
        assert seconds == sorted(seconds) and len(seconds) == 25


async def test_default_window_is_today(engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    today = await add_call(engine, tenant, created_date=int(datetime.now(ZONE).timestamp() * 1000))
    await add_call(engine, tenant)  # a day ago
    async with browser(engine) as http:
        await sign_in(http, tenant.api_key)
        assert row_ids((await http.get("/calls")).text) == [today]


async def test_call_page_edits_tags_and_note(engine: AsyncEngine) -> None:
    tenant, made = await _calls(engine)
    target = made[0]
    async with browser(engine) as http:
        csrf = await sign_in(http, tenant.api_key)
        page = await http.get(f"/calls/{target}")
        assert page.status_code == 200
        assert "Trần Thị Lan" in page.text
        saved = await http.post(
            f"/calls/{target}/change",
            data={"csrf": csrf, "tags": "VIP, hài lòng", "note": "Gọi lại", "back": "/calls"},
        )
        assert saved.status_code == 303
        detail = await http.get(f"/api/call_transaction/detail/{target}", headers=tenant.headers)
        payload = detail.json()["payload"]
        assert payload["tag"] == ["VIP", "hài lòng"]
        assert payload["note"] == "Gọi lại"
        again = await http.get(saved.headers["location"])
        assert 'id="saved"' in again.text
        assert "hài lòng" in again.text
        missing = await http.get("/calls/not-a-call")
        assert missing.status_code == 404


async def test_call_page_plays_the_recording_or_says_it_is_missing(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.wav").write_bytes(b"RIFF" + bytes(100))
    settings = replace(get_settings(), recordings_dir=str(tmp_path))
    for module in ("callhistory.dashboard.pages", "callhistory.recordings.routes"):
        monkeypatch.setattr(f"{module}.get_settings", lambda: settings)
    tenant = await make_tenant(engine)
    present = await add_call(engine, tenant, recording_path="a.wav")
    missing = await add_call(engine, tenant, recording_path="gone.wav")
    silent = await add_call(engine, tenant)
    async with browser(engine) as http:
        await sign_in(http, tenant.api_key)
        shown = (await http.get(f"/calls/{present}")).text
        src = re.search(r'<audio [^>]*src="([^"]+)" id="recording"', shown)
        assert src is not None and 'id="playback-rate"' in shown
        link = httpx.URL(src.group(1).replace("&amp;", "&"))
        assert link.path == f"/api/recordings/{present}"
        http.cookies.clear()  # the link needs no session
        played = await http.get(link.path, params=link.params, headers={"Range": "bytes=0-3"})
        assert (played.status_code, played.content) == (206, b"RIFF")
        await sign_in(http, tenant.api_key)
        gone = (await http.get(f"/calls/{missing}")).text
        assert 'id="recording-missing"' in gone and "<audio" not in gone
        none = (await http.get(f"/calls/{silent}")).text
        assert "recording-missing" not in none and 'id="recording"' not in none


async def test_a_call_can_be_erased_from_its_page_once_confirmed(engine: AsyncEngine) -> None:
    tenant, made = await _calls(engine)
    other, _ = await _calls(engine)
    target = made[0]
    async with browser(engine) as http:
        csrf = await sign_in(http, other.api_key)  # another tenant's supervisor: nothing
        await http.post(f"/calls/{target}/delete", data={"csrf": csrf, "confirm": "yes"})
        kept = await http.get(f"/api/call_transaction/detail/{target}", headers=tenant.headers)
        assert kept.status_code == 200
    async with browser(engine) as http:
        csrf = await sign_in(http, tenant.api_key)
        page = await http.get(f"/calls/{target}")
        assert 'id="delete-form"' in page.text
        unconfirmed = await http.post(f"/calls/{target}/delete", data={"csrf": csrf})
        assert "error=confirm_required" in unconfirmed.headers["location"]
        forged = await http.post(f"/calls/{target}/delete", data={"confirm": "yes"})
        assert forged.status_code == 403
        erased = await http.post(f"/calls/{target}/delete", data={"csrf": csrf, "confirm": "yes"})
        assert erased.status_code == 303 and erased.headers["location"] == "/calls?erased=1"
        detail = await http.get(f"/api/call_transaction/detail/{target}", headers=tenant.headers)
        assert detail.status_code == 404


async def test_reports_match_the_api(engine: AsyncEngine) -> None:
    tenant, _ = await _calls(engine)
    start, end, from_ms, to_ms = _window()
    async with browser(engine) as http:
        await sign_in(http, tenant.api_key)
        page = await http.get("/reports", params={"from": start, "to": end})
        assert page.status_code == 200
        api = await http.get(
            "/api/call_transaction/report",
            params={"from_date": from_ms, "to_date": to_ms},
            headers=tenant.headers,
        )
        for item in api.json()["payload"]["categorized_by_direction"]:
            bars = re.findall(
                rf'data-series="{item["_id"]}" data-value="([\d.]+)"',
                page.text.split('id="chart-answered"')[0],
            )
            assert sum(float(v) for v in bars) == item["total_count"]
        assert page.text.count('class="cell"') == 7 * 24
        assert "Trần Thị Lan" in page.text  # the per-agent table


async def test_csv_and_xlsx_exports_hold_the_filtered_rows(engine: AsyncEngine) -> None:
    tenant, _ = await _calls(engine)
    start, end, from_ms, to_ms = _window()
    async with browser(engine) as http:
        await sign_in(http, tenant.api_key)
        query = {"from": start, "to": end, "disposition": "answered"}
        answer = await http.get("/export.csv", params=query)
        assert answer.status_code == 200
        assert answer.headers["x-total-count"] == "4"
        rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
        expected = await _api_list(
            http, tenant, from_date=from_ms, to_date=to_ms, disposition="answered"
        )
        assert [r["transaction_id"] for r in rows] == expected
        book = await http.get("/export.xlsx", params=query)
        with zipfile.ZipFile(io.BytesIO(book.content)) as archive:
            sheet = archive.read("xl/worksheets/sheet1.xml").decode()
        assert sheet.count("<row>") == 5
        assert all(tx in sheet for tx in expected)


async def test_language_switch(engine: AsyncEngine) -> None:
    tenant, _ = await _calls(engine)
    async with browser(engine) as http:
        csrf = await sign_in(http, tenant.api_key)
        assert "Cuộc gọi" in (await http.get("/calls")).text
        switched = await http.post("/lang", data={"csrf": csrf, "lang": "en", "next": "/calls"})
        assert switched.status_code == 303
        english = await http.get("/calls")
        assert 'lang="en"' in english.text
        assert "Calls" in english.text


def test_catalogues_have_the_same_labels() -> None:
    assert set(i18n.catalogue("vi")) == set(i18n.catalogue("en"))


def test_numbers_and_durations_as_people_read_them() -> None:
    assert i18n.number(1234567, "vi") == "1.234.567"
    assert i18n.number(1234.5, "vi", 1) == "1.234,5"
    assert i18n.number(1234567, "en") == "1,234,567"
    assert i18n.duration(65) == "1:05"
    assert i18n.duration(4500) == "75:00"
    assert i18n.local_time(1_700_000_000_000, "Asia/Ho_Chi_Minh") == "15/11/2023 05:13:20"
