"""`callhistory user create`, and scoring a call from its page."""

from __future__ import annotations

import asyncio
import secrets

from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from callhistory.auth import keys
from callhistory.cli import app
from callhistory.dashboard import users
from callhistory.db import create_engine
from callhistory.evaluations import criteria
from tests.dashboard.support import browser, sign_in
from tests.factories import add_agent, add_call, make_tenant

runner = CliRunner()


def test_user_create_then_password_checks(configured: str) -> None:
    name = f"dash-{secrets.token_hex(3)}"
    assert runner.invoke(app, ["tenant", "create", name]).exit_code == 0
    args = ["user", "create", "--tenant", name, "Lead@Example.vn", "--password-stdin"]
    made = runner.invoke(app, args, input="a long password\n")
    assert made.exit_code == 0, made.output
    again = runner.invoke(app, args, input="a long password\n")
    assert again.exit_code == 1 and "already exists" in again.output
    short = runner.invoke(app, [*args[:4], "x@example.vn", "--password-stdin"], input="short\n")
    assert short.exit_code == 1
    nobody = runner.invoke(app, ["user", "create", "--tenant", "nobody-here", "a@b.vn"], input="")
    assert nobody.exit_code == 1

    async def check() -> tuple[bool, bool]:
        engine = create_engine(configured)
        try:
            async with engine.connect() as conn:
                tenant = await keys.find_tenant(conn, name)
                assert tenant is not None
                good = await users.authenticate(
                    conn, tenant.id, "lead@example.vn", "a long password"
                )
                bad = await users.authenticate(
                    conn, tenant.id, "lead@example.vn", "a long passwore"
                )
            return good is not None, bad is not None
        finally:
            await engine.dispose()

    assert asyncio.run(check()) == (True, False)


async def test_scoring_from_the_call_page(engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    lan = await add_agent(engine, tenant, "Trần Thị Lan", "101")
    call = await add_call(engine, tenant, agents_on_call=[lan])
    async with engine.begin() as conn:
        greet = await criteria.create(
            conn, tenant.id, criteria.CriterionIn(name="Chào hỏi", max_score=5, weight=1)
        )
        solve = await criteria.create(
            conn, tenant.id, criteria.CriterionIn(name="Giải quyết", max_score=10, weight=1)
        )
    async with browser(engine) as http:
        csrf = await sign_in(http, tenant.api_key)
        page = await http.get(f"/calls/{call}")
        assert f'name="score_{greet.id}"' in page.text
        form = {"csrf": csrf, "evaluator": lan.user_uuid, "note": "Tốt"}
        too_high = await http.post(
            f"/calls/{call}/evaluate", data={**form, f"score_{greet.id}": "9"}
        )
        assert "error=score_out_of_range" in too_high.headers["location"]
        scored = await http.post(
            f"/calls/{call}/evaluate",
            data={**form, f"score_{greet.id}": "5", f"score_{solve.id}": "5"},
        )
        assert "saved=evaluation" in scored.headers["location"]
        shown = await http.get(scored.headers["location"])
        assert 'id="score-total"' in shown.text
        assert "75,0" in shown.text  # (100% + 50%) / 2, written the Vietnamese way
        detail = await http.get(f"/api/call_transaction/detail/{call}", headers=tenant.headers)
        assert detail.json()["payload"]["total_evaluate"]["average_score"] == 75
