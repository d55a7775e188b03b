"""Every dashboard answer carries the security headers, and the pages need no inline code.

Pages, sign-in, redirects, error pages, exports and static files: each answer is checked
for the same Content-Security-Policy (no inline script or style, no plugins, no framing)
and the headers beside it. The pages are checked to hold no inline script, handler or
style, so the policy costs them nothing; tests/dashboard/test_xss.py proves it in Chromium.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.dashboard import render
from tests.dashboard.support import browser, csrf_of
from tests.factories import add_agent, add_call, make_tenant

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' https: http:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
EXPECTED = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
DASHBOARD = Path(render.__file__).parent
STATIC = "/static/dashboard"

Answers = list[tuple[str, httpx.Response]]


def _directives(policy: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def test_the_policy_allows_no_inline_code_no_plugin_no_framing() -> None:
    d = _directives(CSP)
    assert d["script-src"] == ["'self'"]
    assert d["style-src"] == ["'self'"]
    assert d["object-src"] == ["'none'"]
    assert d["frame-ancestors"] == ["'none'"]
    assert d["base-uri"] == ["'none'"]
    assert d["form-action"] == ["'self'"]
    assert "unsafe" not in CSP  # no 'unsafe-inline', 'unsafe-eval', 'unsafe-hashes'
    assert render.CSP == CSP


async def _every_kind(engine: AsyncEngine) -> Answers:
    """One answer of each kind the dashboard gives, signed out and signed in."""
    tenant = await make_tenant(engine)
    lan = await add_agent(engine, tenant, "Trần Thị Lan", "101")
    call = await add_call(engine, tenant, agents_on_call=[lan], note="Gọi lại", tags=["VIP"])
    got: Answers = []
    async with browser(engine) as http:
        got.append(("home, signed out", await http.get("/")))
        got.append(("calls, signed out", await http.get("/calls")))
        got.append(("reports, signed out", await http.get("/reports")))
        form = await http.get("/signin")
        got.append(("sign-in page", form))
        got.append(("sign-in, bad csrf", await http.post("/signin", data={"api_key": "x"})))
        token = csrf_of(form.text)
        got.append(
            ("sign-in, wrong key", await http.post("/signin", data={"csrf": token, "api_key": "x"}))
        )
        got.append(("static js", await http.get(f"{STATIC}/dashboard.js")))
        got.append(("static css", await http.get(f"{STATIC}/dashboard.css")))
        got.append(("static missing", await http.get(f"{STATIC}/nothing.js")))
        got.append(("static post", await http.post(f"{STATIC}/dashboard.js")))
        signed = await http.post(
            "/signin", data={"csrf": token, "api_key": tenant.api_key, "next": "/calls"}
        )
        got.append(("sign-in, done", signed))
        got.append(("sign-in page, signed in", await http.get("/signin")))
        got.append(("home, signed in", await http.get("/")))
        calls = await http.get("/calls", params={"keyword": "Lan"})
        got.append(("calls", calls))
        csrf = csrf_of(calls.text)
        got.append(("calls, bad filter", await http.get("/calls", params={"direction": "up"})))
        got.append(("call", await http.get(f"/calls/{call}")))
        got.append(("call, missing", await http.get("/calls/not-a-call")))
        got.append(("reports", await http.get("/reports")))
        got.append(("reports, bad filter", await http.get("/reports", params={"size": "x0"})))
        got.append(("export csv", await http.get("/export.csv")))
        got.append(("export xlsx", await http.get("/export.xlsx")))
        got.append(("change, no csrf", await http.post(f"/calls/{call}/change", data={})))
        got.append(
            (
                "change",
                await http.post(
                    f"/calls/{call}/change", data={"csrf": csrf, "note": "x", "tags": "VIP"}
                ),
            )
        )
        got.append(("evaluate", await http.post(f"/calls/{call}/evaluate", data={"csrf": csrf})))
        got.append(("language", await http.post("/lang", data={"csrf": csrf, "lang": "en"})))
        got.append(("sign out", await http.post("/signout", data={"csrf": csrf})))
    return got


async def test_every_dashboard_answer_carries_the_headers(engine: AsyncEngine) -> None:
    got = await _every_kind(engine)
    statuses = {label: answer.status_code for label, answer in got}
    # The list covers every kind: pages, redirects, the error pages, downloads, static.
    assert statuses["sign-in page"] == statuses["calls"] == statuses["call"] == 200
    assert statuses["reports"] == statuses["export csv"] == statuses["export xlsx"] == 200
    assert statuses["static js"] == statuses["static css"] == 200
    assert statuses["home, signed out"] == statuses["calls, signed out"] == 303
    assert statuses["sign-in, done"] == statuses["change"] == statuses["sign out"] == 303
    assert statuses["sign-in, bad csrf"] == statuses["change, no csrf"] == 403
    assert statuses["sign-in, wrong key"] == 401
    assert statuses["calls, bad filter"] == statuses["reports, bad filter"] == 400
    assert statuses["call, missing"] == statuses["static missing"] == 404
    assert statuses["static post"] == 405
    for label, answer in got:
        for name, value in EXPECTED.items():
            assert answer.headers.get(name) == value, f"{label}: {name}"


async def test_answers_are_not_cached_but_static_files_are(engine: AsyncEngine) -> None:
    for label, answer in await _every_kind(engine):
        if label.startswith("static"):
            continue
        assert answer.headers["cache-control"] == "no-store", label
    async with browser(engine) as http:
        js = await http.get(f"{STATIC}/dashboard.js")
        css = await http.get(f"{STATIC}/dashboard.css")
    # nosniff makes the browser trust these types: they must be the right ones.
    assert js.headers["content-type"].split(";")[0] in {"text/javascript", "application/javascript"}
    assert css.headers["content-type"].split(";")[0] == "text/css"
    assert "no-store" not in js.headers.get("cache-control", "")
    assert js.headers.get("etag")


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.I)


async def test_pages_hold_no_inline_script_handler_or_style(engine: AsyncEngine) -> None:
    pages = [
        (label, a.text)
        for label, a in await _every_kind(engine)
        if a.headers.get("content-type", "").startswith("text/html")
    ]
    assert len(pages) >= 8
    for label, html in pages:
        assert not INLINE_SCRIPT.search(html), label
        assert not HANDLER.search(html), label
        assert not STYLE_ATTRIBUTE.search(html), label
        assert "<style" not in html.lower(), label
        assert "javascript:" not in html.lower(), label


def test_templates_escape_and_never_mark_stored_text_safe() -> None:
    names = render.env.list_templates(filter_func=lambda n: n.endswith(".html"))
    assert {"base.html", "calls.html", "call.html", "reports.html", "signin.html"} <= set(names)
    for name in names:
        assert render.env.autoescape(name), name  # type: ignore[operator]
        source = (DASHBOARD / "templates" / name).read_text(encoding="utf-8")
        assert not re.search(r"\|\s*safe\b", source), name
        assert "autoescape false" not in source, name
        assert "Markup" not in source, name
    # Markup is made in one place only: the charts, where every text goes through escape().
    makers = [p.name for p in DASHBOARD.glob("*.py") if "Markup(" in p.read_text(encoding="utf-8")]
    assert makers == ["charts.py"]


def test_the_script_builds_no_html_from_text() -> None:
    script = (DASHBOARD / "static" / "dashboard.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink
    assert "new Function" not in script
