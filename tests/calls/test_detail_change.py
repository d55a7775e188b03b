"""Detail and change: one call, its tags and notes, the call's and each agent's."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import add_agent, add_call, make_tenant, window

DETAIL = "/api/call_transaction/detail/{}"
CHANGE = "/api/call_transaction/change/{}"


async def test_detail_is_the_list_item_plus_ivr(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(engine)
    agent = await add_agent(engine, t, "Phạm Minh Đức", "105")
    tx = await add_call(
        engine,
        t,
        agents_on_call=[agent],
        note="ghi chú",
        tags=["VIP", "hài lòng"],
        recording_file="https://rec.example.vn/a.mp3",
        provider="viettel",
        call_out_price=2389,
    )
    r = await client.get(DETAIL.format(tx), headers=t.headers)
    assert r.status_code == 200
    p = r.json()["payload"]
    assert p["transaction_id"] == tx and p["ivr"] == "none"
    assert p["tag"] == ["VIP", "hài lòng"]
    assert p["note"] == "ghi chú"
    assert p["recording_file"] == "https://rec.example.vn/a.mp3"
    assert p["provider"] == "viettel" and p["call_out_price"] == 2389
    assert p["user"][0]["full_name_unsigned"] == "Pham Minh Duc"


async def test_unknown_call_is_404(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    t = await make_tenant(engine)
    for r in (
        await client.get(DETAIL.format("no-such-call"), headers=t.headers),
        await client.post(CHANGE.format("no-such-call"), json={"note": "x"}, headers=t.headers),
    ):
        assert r.status_code == 404
        assert r.json()["message"] == "transaction_not_found"


async def test_change_sets_tags_and_note_and_bumps_last_updated(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(engine)
    tx = await add_call(engine, t, tags=["cũ"])
    before = (await client.get(DETAIL.format(tx), headers=t.headers)).json()["payload"]
    r = await client.post(
        CHANGE.format(tx),
        json={"tag": ["hailong", " Gọi  lại sau ", "HAILONG"], "note": "Ghi chú mới"},
        headers=t.headers,
    )
    assert r.status_code == 200, r.text
    p = r.json()["payload"]
    assert p["tag"] == ["hailong", "Gọi lại sau"]  # trimmed, duplicates folded away, order kept
    assert p["note"] == "Ghi chú mới"
    assert p["last_updated_date"] > before["last_updated_date"]
    assert p == (await client.get(DETAIL.format(tx), headers=t.headers)).json()["payload"]

    # the change is searchable at once
    found = await client.get(
        "/api/call_transaction/list",
        params={**window(), "keyword": "ghi chu moi"},
        headers=t.headers,
    )
    assert [i["transaction_id"] for i in found.json()["payload"]["items"]] == [tx]
    old = await client.get(
        "/api/call_transaction/list", params={**window(), "keyword": "cũ"}, headers=t.headers
    )
    assert old.json()["payload"]["total_items"] == 0


async def test_change_reuses_catalogue_tags_whatever_their_case_and_accents(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(engine)
    first = await add_call(engine, t, tags=["Hài lòng"])
    second = await add_call(engine, t)
    r = await client.post(CHANGE.format(second), json={"tag": ["hai LONG"]}, headers=t.headers)
    assert r.json()["payload"]["tag"] == ["Hài lòng"]  # the catalogue's spelling
    ids = {first, second}
    search = await client.get(
        "/api/call_transaction/list", params={**window(), "keyword": "hai long"}, headers=t.headers
    )
    assert {i["transaction_id"] for i in search.json()["payload"]["items"]} == ids


async def test_only_the_given_fields_change(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    t = await make_tenant(engine)
    tx = await add_call(engine, t, tags=["a"], note="n")
    p = (await client.post(CHANGE.format(tx), json={"note": "m"}, headers=t.headers)).json()[
        "payload"
    ]
    assert (p["tag"], p["note"]) == (["a"], "m")
    p = (await client.post(CHANGE.format(tx), json={"tag": []}, headers=t.headers)).json()[
        "payload"
    ]
    assert (p["tag"], p["note"]) == ([], "m")
    p = (await client.post(CHANGE.format(tx), json={"note": None}, headers=t.headers)).json()[
        "payload"
    ]
    assert p["note"] == ""  # cleared: "", never null (docs/api.md, "Absent values")


async def test_change_with_user_uuid_sets_that_agents_note_and_tags(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(engine)
    a = await add_agent(engine, t, "Lý Thị Lan", "111")
    b = await add_agent(engine, t, "Võ Văn Kiệt", "112")
    tx = await add_call(engine, t, agents_on_call=[a, b], note="của cuộc gọi")
    r = await client.post(
        CHANGE.format(tx),
        json={"user_uuid": b.user_uuid, "note": "khách khó tính", "tag": ["khiếu nại"]},
        headers=t.headers,
    )
    assert r.status_code == 200, r.text
    p = r.json()["payload"]
    assert p["note"] == "của cuộc gọi" and p["tag"] == []
    assert p["user"][0]["note"] == "" and p["user"][0]["tag"] == []
    assert p["user"][1]["note"] == "khách khó tính"
    assert p["user"][1]["tag"] == [{"name": "khiếu nại"}]
    found = await client.get(
        "/api/call_transaction/list",
        params={**window(), "keyword": "khach kho tinh"},
        headers=t.headers,
    )
    assert found.json()["payload"]["total_items"] == 1
    by_ext = await client.post(
        CHANGE.format(tx), json={"user_uuid": "111", "note": "x"}, headers=t.headers
    )
    assert by_ext.json()["payload"]["user"][0]["note"] == "x"


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({}, "body", "tag_or_note_required"),
        ({"tag": "vip"}, "tag", "must_be_a_list_of_strings"),
        ({"tag": [1, 2]}, "tag", "must_be_a_list_of_strings"),
        ({"tag": ["  "]}, "tag", "empty_tag"),
        ({"tag": ["x" * 101]}, "tag", "tag_too_long"),
        ({"tag": [f"t{i}" for i in range(51)]}, "tag", "too_many_tags"),
        ({"note": 5}, "note", "must_be_a_string"),
        ({"note": "x" * 5001}, "note", "too_long"),
        ({"note": "x", "user_uuid": "nobody"}, "user_uuid", "user_not_on_call"),
        ({"note": "x", "user_uuid": 7}, "user_uuid", "must_be_a_string"),
    ],
)
async def test_change_validation(
    engine: AsyncEngine, client: httpx.AsyncClient, body: dict[str, object], field: str, code: str
) -> None:
    t = await make_tenant(engine)
    tx = await add_call(engine, t, note="unchanged")
    r = await client.post(CHANGE.format(tx), json=body, headers=t.headers)
    assert r.status_code == 400
    assert r.json()["message"] == "validation_error"
    assert r.json()["payload"] == [{"field": field, "code": code}]
    assert (await client.get(DETAIL.format(tx), headers=t.headers)).json()["payload"][
        "note"
    ] == "unchanged"
