"""The report's totals, checked against counts made independently from the same rows."""

from __future__ import annotations

import random
from collections import Counter

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import DAY_MS, add_agent, add_call, make_tenant, now_ms

REPORT = "/api/call_transaction/report"


async def test_report_totals_match_the_rows(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    t = await make_tenant(engine)
    a = await add_agent(engine, t, "Trịnh Công Sơn", "140", "son@acme.vn")
    b = await add_agent(engine, t, "Lưu Hữu Phước", "141", "phuoc@acme.vn")
    rng = random.Random(7)
    rows = []
    for i in range(60):
        direction = rng.choice(["inbound", "inbound", "outbound", "local"])
        disposition = rng.choice(["answered", "cancelled"])
        bill = rng.randint(1, 300) if disposition == "answered" else 0
        agent = rng.choice([a, b])
        hotline = rng.choice(["19001111", "02873002222"])
        await add_call(
            engine,
            t,
            created_date=now_ms() - DAY_MS - i * 1000,
            direction=direction,
            disposition=disposition,
            bill_sec=bill,
            agents_on_call=[agent],
            hotline=hotline,
        )
        rows.append((direction, disposition, bill, agent, hotline))

    def expected(keep: list[tuple[str, str, int, object, str]]) -> dict[str, object]:
        count = Counter(r[0] for r in keep)
        time = Counter()
        for r in keep:
            time[r[0]] += r[2]
        disp = Counter((r[1], r[0]) for r in keep)
        return {
            "categorized_by_direction": [
                {"_id": d, "total_count": count[d], "total_time": time[d]}
                for d in ("inbound", "outbound")
            ],
            "categorized_by_disposition": [
                {
                    "_id": s,
                    "total_count": disp[(s, "inbound")] + disp[(s, "outbound")],
                    "total_outbound": disp[(s, "outbound")],
                    "total_inbound": disp[(s, "inbound")],
                }
                for s in ("cancelled", "answered")
            ],
            "categorized_by_local_direction": {
                "total_call": count["local"],
                "total_call_answer": disp[("answered", "local")],
            },
        }

    window = {"from_date": now_ms() - 10 * DAY_MS, "to_date": now_ms()}
    r = await client.get(REPORT, params=window, headers=t.headers)
    assert r.status_code == 200
    assert r.json()["payload"] == expected(rows)
    # no dates: the last 30 days
    assert (await client.get(REPORT, headers=t.headers)).json()["payload"] == expected(rows)

    by_agent = await client.get(
        REPORT, params={**window, "agents": "son@acme.vn"}, headers=t.headers
    )
    assert by_agent.json()["payload"] == expected([r for r in rows if r[3] is a])
    by_ext = await client.get(REPORT, params={**window, "sip_user": "141"}, headers=t.headers)
    assert by_ext.json()["payload"] == expected([r for r in rows if r[3] is b])
    by_hotline = await client.get(
        REPORT, params={**window, "numbers[]": "+842873002222"}, headers=t.headers
    )
    assert by_hotline.json()["payload"] == expected([r for r in rows if r[4] == "02873002222"])


async def test_report_date_errors(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    t = await make_tenant(engine)
    r = await client.get(REPORT, params={"to_date": 5}, headers=t.headers)
    assert r.status_code == 400 and r.json()["message"] == "from_date_is_required"
    r = await client.get(REPORT, params={"from_date": 0, "to_date": 31 * DAY_MS}, headers=t.headers)
    assert r.status_code == 400 and r.json()["message"] == "date_is_too_long"
