"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright.

The app runs as `callhistory serve` in a subprocess on a free port, over a SQLite
database filled by `callhistory demo`; what the pages show is compared with the API's
answers for the same window and filters. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import csv
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

CHROMIUM = os.environ.get("CALLHISTORY_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
BIN = Path(sys.executable).parent

playwright_api = pytest.importorskip("playwright.sync_api")

if not Path(CHROMIUM).exists():
    if os.environ.get("CI", "").lower() == "true":
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, url: str, api_key: str) -> None:
        self.url = url
        self.api_key = api_key
        self.http = httpx.Client(base_url=url, headers={"x-api-key": api_key}, timeout=30)

    def api(self, path: str, **query: Any) -> Any:
        answer = self.http.get(path, params=query)
        assert answer.status_code == 200, answer.text
        return answer.json()["payload"]

    def listed(self, **query: Any) -> list[str]:
        return [
            i["transaction_id"] for i in self.api("/api/call_transaction/list", **query)["items"]
        ]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("browser")
    env = {
        **os.environ,
        "CALLHISTORY_DATABASE_URL": f"sqlite:///{folder / 'db.sqlite'}",
        "CALLHISTORY_SECRET_KEY": "browser-suite-secret-of-a-good-length-0123456789",
        "CALLHISTORY_LOG_LEVEL": "warning",
    }
    demo = subprocess.run(
        [BIN / "callhistory", "demo", "--calls", "1500", "--json", "--seed", "7"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    api_key = re.search(r'"api_key": "([^"]+)"', demo.stdout)
    assert api_key
    port = _free_port()
    process = subprocess.Popen(
        [BIN / "callhistory", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/signin", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        running = Server(url, api_key.group(1))
        for name in ("Chào hỏi", "Giải quyết vấn đề"):
            made = running.http.post(
                "/api/evaluation_criteria/call", json={"name": name, "max_score": 5}
            )
            assert made.status_code == 201, made.text
        yield running
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[Any]:
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


def _window() -> tuple[dict[str, str], dict[str, int]]:
    end = datetime.now(ZONE).replace(second=0, microsecond=0)
    start = (end - timedelta(days=6)).replace(hour=0, minute=0)
    local = {"from": start.strftime("%Y-%m-%dT%H:%M"), "to": end.strftime("%Y-%m-%dT%H:%M")}
    epoch = {
        "from_date": int(start.timestamp() * 1000),
        "to_date": int(end.timestamp() * 1000) + 59_999,
    }
    return local, epoch


def _rows(page: Any) -> list[str]:
    return [
        str(r)
        for r in page.locator("tr[data-transaction-id]").evaluate_all(
            "rows => rows.map(r => r.dataset.transactionId)"
        )
    ]


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_supervisor_morning(server: Server, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server.url) else outside.append(r.url))
    local, epoch = _window()
    query = "&".join(f"{k}={v}" for k, v in local.items())

    # A request without a session lands on the sign-in page, which brings it back after.
    page.goto(f"{server.url}/calls?{query}")
    assert page.url.startswith(f"{server.url}/signin")
    _shot(page, "signin")
    page.fill("#api_key", server.api_key)
    page.click("#signin-key button")
    page.wait_for_url(re.compile(r"/calls\?"))
    assert _rows(page) == server.listed(**epoch)
    _shot(page, "calls")

    # Keyword and direction: the URL keeps them, the rows are the API's.
    first = server.api("/api/call_transaction/list", **epoch, direction="inbound")["items"]
    named = next(i for i in first if i["customer"])
    keyword = named["customer"]["full_name"].split()[-1]
    page.fill("#f-keyword", keyword)
    page.check("#f-direction-inbound")
    page.click("#apply")
    page.wait_for_url(re.compile(r"keyword="))
    assert "direction=inbound" in page.url
    expected = server.listed(**epoch, keyword=keyword, direction="inbound")
    assert _rows(page) == expected
    assert named["transaction_id"] in expected
    _shot(page, "calls-filtered")

    # Paging over the unfiltered window.
    page.goto(f"{server.url}/calls?{query}")
    page.click("#page-next")
    page.wait_for_url(re.compile(r"page=2"))
    assert _rows(page) == server.listed(**epoch, page=2)

    # A call: the player, tags and note saved, scored at once.
    answered = server.api("/api/call_transaction/list", **epoch, disposition="answered")
    target = answered["items"][0]["transaction_id"]
    page.goto(f"{server.url}/calls?{query}&disposition=answered")
    page.click(f"tr[data-transaction-id='{target}'] a.open")
    page.wait_for_url(re.compile(f"/calls/{target}"))
    assert page.locator("audio#recording").count() == 1
    page.select_option("#playback-rate", "1.5")
    assert page.evaluate("document.getElementById('recording').playbackRate") == 1.5
    assert "download=1" in (page.get_attribute("#recording-download", "href") or "")
    page.fill("#tags", "VIP, hài lòng")
    page.fill("#note", "Khách hẹn gọi lại")
    page.click("#save-change")
    page.wait_for_selector("#saved")
    detail = server.api(f"/api/call_transaction/detail/{target}")
    assert detail["tag"] == ["VIP", "hài lòng"]
    assert detail["note"] == "Khách hẹn gọi lại"
    for box in page.locator("input[data-criterion]").all():
        box.fill("4")
    page.click("#submit-score")
    page.wait_for_selector("#score-total")
    scored = server.api(f"/api/call_transaction/detail/{target}")
    assert scored["total_evaluate"]["average_score"] == 80
    assert "80" in page.inner_text("#score-total")
    _shot(page, "call")

    # CSRF: a form post without the session's token is refused.
    forged = context.request.post(f"{server.url}/calls/{target}/change", form={"note": "x"})
    assert forged.status == 403

    # Reports: every bar of calls-per-day adds up to the API's totals.
    page.goto(f"{server.url}/reports?{query}")
    report = server.api("/api/call_transaction/report", **epoch)
    for item in report["categorized_by_direction"]:
        values = page.locator(f"#chart-directions rect[data-series='{item['_id']}']").evaluate_all(
            "bars => bars.map(b => Number(b.dataset.value))"
        )
        assert sum(values) == item["total_count"]
    assert page.locator("#chart-heat rect.cell").count() == 7 * 24
    _shot(page, "reports")

    # Export: the CSV of the filtered view holds the API's rows, in its order.
    page.goto(f"{server.url}/calls?{query}&direction=outbound")
    with page.expect_download() as download:
        page.click("#export-csv")
    path = download.value.path()
    with open(path, encoding="utf-8-sig", newline="") as handle:
        exported = [row["transaction_id"] for row in csv.DictReader(handle)]
    expected_all: list[str] = []
    for number in range(1, 100):
        chunk = server.listed(**epoch, direction="outbound", page=number)
        expected_all += chunk
        if len(chunk) < 50:
            break
    assert exported == expected_all
    page.wait_for_function("document.getElementById('export-status').textContent.length > 0")

    # English, then a phone's width, then sign out.
    page.click("#lang-switch")
    page.wait_for_selector("html[lang='en']")
    assert page.locator("nav a[href='/calls']").inner_text() == "Calls"
    _shot(page, "calls-english")
    page.set_viewport_size({"width": 390, "height": 844})
    _shot(page, "calls-phone")
    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/signin"))
    page.goto(f"{server.url}/reports")
    assert "/signin" in page.url
    assert outside == []
    context.close()


def test_keyboard_reaches_the_filters(server: Server, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(f"{server.url}/signin")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.className") == "skip"
    page.fill("#api_key", server.api_key)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/calls"))
    page.focus("#f-keyword")
    page.keyboard.type("0")
    page.keyboard.press("Enter")  # submits the filter form from the keyboard
    page.wait_for_url(re.compile(r"keyword=0"))
    context.close()
