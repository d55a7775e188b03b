"""Stored markup is shown as text on every dashboard page that shows it, never run.

A note, a tag, a customer's or an agent's name, a criterion, an evaluation's comment, a
hotline's or a queue's name, even a transaction id or a caller number a PBX sent, may
hold `<script>` or `<img onerror>`: each page that shows one must carry it escaped
(`&lt;script&gt;`), in text and in attributes (data-* included) alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from markupsafe import escape
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.calls.store import tag_ids_for
from callhistory.evaluations import criteria
from callhistory.evaluations import store as evaluation_store
from callhistory.schema import call_tags, call_users, hotlines, queues
from tests.dashboard.support import browser, sign_in
from tests.factories import Tenant, add_agent, add_call, make_tenant, now_ms

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
MARKUP = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
RAW = ("<script>alert", "<img src=x onerror", "onerror=alert(1)>")
# What is stored, by field: each markup with the field's name after it, so a page that
# shows the field is seen to show that one (escaped).
FIELDS = (
    "transaction_id",
    "source_number",
    "note",
    "agent_note",
    "tag",
    "agent_tag",
    "customer",
    "agent",
    "criterion",
    "evaluation_note",
    "hotline",
    "queue",
)
# Where each page shows them (the filters' choices: agents, hotlines, queues, tags).
ON_LIST = ("transaction_id", "source_number", "tag", "customer", "agent", "hotline", "queue")
ON_CALL = tuple(f for f in FIELDS if f not in ("hotline", "queue"))
ON_REPORTS = ("agent", "tag", "hotline", "queue")


def _stored(markup: str) -> dict[str, str]:
    values = {field: f"{markup} {field}" for field in FIELDS}
    # A "/" in a transaction id cannot be a path segment (/calls/{id}): "<script>" twice.
    values["transaction_id"] = values["transaction_id"].replace("/", "")
    return values


def _shown(value: str) -> str:
    return str(escape(value))


async def _plant(engine: AsyncEngine) -> tuple[Tenant, list[dict[str, str]]]:
    tenant = await make_tenant(engine, "html")
    planted = []
    for i, markup in enumerate(MARKUP):
        values = _stored(markup)
        hotline, queue = f"1900{i}00{i}", f"80{i}"
        agent = await add_agent(engine, tenant, values["agent"], str(400 + i))
        tx = await add_call(
            engine,
            tenant,
            transaction_id=values["transaction_id"],
            created_date=now_ms() - 60_000 * (i + 1),
            agents_on_call=[agent],
            customer_name=values["customer"],
            note=values["note"],
            tags=[values["tag"]],
            source_number=values["source_number"],
            hotline=hotline,
            queue_destination=queue,
        )
        async with engine.begin() as conn:
            await conn.execute(
                hotlines.insert().values(
                    tenant_id=tenant.id, number=hotline, name=values["hotline"]
                )
            )
            await conn.execute(
                queues.insert().values(tenant_id=tenant.id, number=queue, name=values["queue"])
            )
            await conn.execute(
                update(call_users)
                .where(
                    call_users.c.tenant_id == tenant.id,
                    call_users.c.transaction_id == tx,
                    call_users.c.position == 0,
                )
                .values(note=values["agent_note"], note_created_date=now_ms())
            )
            (agent_tag,) = await tag_ids_for(conn, tenant.id, [values["agent_tag"]])
            await conn.execute(
                call_tags.insert().values(
                    tenant_id=tenant.id,
                    transaction_id=tx,
                    user_position=0,
                    tag_id=agent_tag,
                    position=0,
                    created_date=now_ms() - 60_000 * (i + 1),
                )
            )
            criterion = await criteria.create(
                conn,
                tenant.id,
                criteria.CriterionIn(name=values["criterion"], max_score=5, weight=1),
            )
        new = evaluation_store.parse(
            {
                "user_uuid": agent.user_uuid,
                "evaluation": {
                    "criteria": [{"criteria_id": criterion.id, "score": 4}],
                    "note": values["evaluation_note"],
                },
            }
        )
        async with engine.begin() as conn:
            await evaluation_store.add(conn, tenant.id, tx, new)
        planted.append(values)
    return tenant, planted


def _window() -> dict[str, str]:
    start = datetime.now(ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "from": (start - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "to": (start + timedelta(hours=23, minutes=59)).strftime("%Y-%m-%dT%H:%M"),
    }


def _assert_escaped(html: str, page: str, values: dict[str, str], fields: tuple[str, ...]) -> None:
    for raw in RAW:
        assert raw not in html, f"{page}: {raw!r} unescaped"
    for field in fields:
        assert _shown(values[field]) in html, f"{page}: {field} not shown escaped"


async def test_stored_markup_is_escaped_on_every_page(engine: AsyncEngine) -> None:
    tenant, planted = await _plant(engine)
    async with browser(engine) as http:
        await sign_in(http, tenant.api_key)
        listing = await http.get("/calls", params=_window())
        assert listing.status_code == 200
        reports = await http.get("/reports", params=_window())
        assert reports.status_code == 200
        for values in planted:
            _assert_escaped(listing.text, "/calls", values, ON_LIST)
            assert f'data-transaction-id="{_shown(values["transaction_id"])}"' in listing.text
            _assert_escaped(reports.text, "/reports", values, ON_REPORTS)

            tx = values["transaction_id"]
            call = await http.get(f"/calls/{quote(tx, safe='')}", params={"back": "/calls"})
            assert call.status_code == 200
            _assert_escaped(call.text, "/calls/{id}", values, ON_CALL)
            # the attributes: the tags field, the tag suggestions, the criterion's data-*
            assert f'value="{_shown(values["tag"])}"' in call.text
            assert f'<option value="{_shown(values["agent_tag"])}">' in call.text
            assert f'data-criterion="{_shown(values["criterion"])}"' in call.text
            assert f'<textarea id="note" name="note" rows="3">{_shown(values["note"])}' in (
                call.text
            )
            assert f"<strong>{_shown(values['agent'])}</strong>: " in call.text  # evaluator

        # A filter that selects them: the chosen options are escaped as well.
        chosen = await http.get("/calls", params={**_window(), "keyword": planted[0]["customer"]})
        assert chosen.status_code == 200
        _assert_escaped(chosen.text, "/calls?keyword", planted[0], ("customer",))
        assert f'value="{_shown(planted[0]["customer"])}"' in chosen.text  # the search box


async def test_markup_in_the_query_is_escaped(engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine, "html")
    tx = await add_call(engine, tenant)
    async with browser(engine) as http:
        await sign_in(http, tenant.api_key)
        for markup in MARKUP:
            listing = await http.get("/calls", params={"keyword": markup, "size": markup})
            shown = await http.get(
                f"/calls/{tx}", params={"back": f"/calls?x={markup}", "error": markup}
            )
            reports = await http.get("/reports", params={"keyword": markup})
            for page in (listing, shown, reports):
                for raw in RAW:
                    assert raw not in page.text, (page.url, raw)
            assert _shown(markup) in shown.text
            assert _shown(markup) in reports.text
