"""The directories: bulk upserts, the platform's list endpoints, ingest's lookups, CSV import.

Every test that touches storage runs on SQLite and on PostgreSQL (see tests/conftest.py),
each in its own fresh tenant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from callhistory.cli import app as cli_app
from callhistory.db import create_engine
from callhistory.directory import items, store
from callhistory.directory.items import InvalidItem
from tests.factories import Tenant, make_tenant

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "directory"
T = TypeVar("T")


async def bulk(
    client: httpx.AsyncClient, tenant: Tenant, kind: str, batch: list[Any]
) -> dict[str, Any]:
    answer = await client.post(f"/api/{kind}/bulk", json={"items": batch}, headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    payload: dict[str, Any] = answer.json()["payload"]
    return payload


async def listed(
    client: httpx.AsyncClient, tenant: Tenant, path: str, **query: Any
) -> dict[str, Any]:
    answer = await client.get(path, params=query, headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status_code"] == 9999
    payload: dict[str, Any] = body["payload"]
    return payload


def statuses(payload: dict[str, Any]) -> list[str]:
    return [r["status"] for r in payload["results"]]


def codes(result: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["field"], e["code"]) for e in result["errors"]}


# ---- item checks (no store) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("not an object", {("item", "must_be_an_object")}),
        ({"email": "a@b.vn"}, {("full_name", "required")}),
        ({"full_name": "An"}, {("item", "email_sip_user_or_user_uuid_required")}),
        ({"full_name": "An", "email": "no-at-sign"}, {("email", "invalid_email")}),
        ({"full_name": "An", "sip_user": "1"}, {("sip_user", "invalid_extension")}),
        ({"full_name": "An", "sip_user": "10a"}, {("sip_user", "invalid_extension")}),
        (
            {"full_name": "An", "sip_user": 101, "active": "yes"},
            {("active", "must_be_true_or_false")},
        ),
        ({"full_name": ["An"], "user_uuid": "U"}, {("full_name", "must_be_a_string")}),
        ({"full_name": "A" * 201, "user_uuid": "U"}, {("full_name", "too_long")}),
    ],
)
def test_agent_item_errors(item: Any, expected: set[tuple[str, str]]) -> None:
    with pytest.raises(InvalidItem) as caught:
        items.agent(item)
    assert {(e["field"], e["code"]) for e in caught.value.errors} == expected


def test_agent_item_normalised() -> None:
    agent = items.agent({"full_name": "  Trần   Văn Tiến ", "email": "Tien@X.VN", "sip_user": 101})
    assert agent == items.AgentIn("Trần Văn Tiến", "tien@x.vn", "101", None, None)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"full_name": "Hoa"}, {("phones", "required")}),
        ({"full_name": "Hoa", "phones": []}, {("phones", "required")}),
        ({"full_name": "Hoa", "phones": "0912345678"}, {("phones", "must_be_a_list")}),
        ({"full_name": "Hoa", "phones": ["0912345678"] * 11}, {("phones", "too_many_phones")}),
        (
            {"full_name": "Hoa", "phones": ["0912345678", "12ab", "113", True]},
            {
                ("phones.1", "invalid_phone"),
                ("phones.2", "invalid_phone"),
                ("phones.3", "invalid_phone"),
            },
        ),
        (
            {"phones": ["0912345678"], "code": {}},
            {("full_name", "required"), ("code", "must_be_a_string")},
        ),
    ],
)
def test_customer_item_errors(item: Any, expected: set[tuple[str, str]]) -> None:
    with pytest.raises(InvalidItem) as caught:
        items.customer(item)
    assert {(e["field"], e["code"]) for e in caught.value.errors} == expected


def test_customer_phones_normalised_and_deduplicated() -> None:
    customer = items.customer(
        {"full_name": "Hoa", "code": 42, "phones": ["+84 912 345 678", "84912345678", 987654321]}
    )
    assert customer.code == "42"
    assert customer.phones == ("0912345678", "987654321")


def test_hotline_and_queue_items() -> None:
    assert items.hotline({"number": "+84 24 7300 1234", "provider": "Viettel"}) == items.HotlineIn(
        "02473001234", None, "viettel"
    )
    assert items.queue({"number": 5001, "name": "Sales"}) == items.QueueIn("5001", "Sales")
    for bad, expected in [
        ({"name": "x"}, ("number", "required")),
        ({"number": "abc"}, ("number", "invalid_number")),
    ]:
        with pytest.raises(InvalidItem) as caught:
            items.hotline(bad)
        assert caught.value.errors == [{"field": expected[0], "code": expected[1]}]
    with pytest.raises(InvalidItem) as caught:
        items.queue({"number": "50-01"})
    assert caught.value.errors == [{"field": "number", "code": "invalid_number"}]


# ---- the bulk endpoints ---------------------------------------------------------------


async def test_bulk_body_is_checked(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    cases: list[tuple[Any, str]] = [
        ({}, "required"),
        ({"items": {"a": 1}}, "must_be_a_list"),
        ({"items": [{}] * 1001}, "too_many_items"),
    ]
    for body, code in cases:
        answer = await client.post("/api/agents/bulk", json=body, headers=tenant.headers)
        assert answer.status_code == 400
        assert answer.json()["message"] == "validation_error"
        assert answer.json()["payload"] == [{"field": "items", "code": code}]
    answer = await client.post("/api/queues/bulk", json={"items": []})
    assert answer.status_code == 401
    empty = await bulk(client, tenant, "queues", [])
    assert empty == {"results": [], "stored": 0, "updated": 0, "unchanged": 0, "rejected": 0}


async def test_agents_upsert(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    lan = {"email": "Lan@Example.VN", "full_name": "Nguyễn Thị Lan", "sip_user": "101"}
    tien = {"full_name": "Trần Văn Tiến", "sip_user": "102", "user_uuid": "NV002"}
    first = await bulk(client, tenant, "agents", [lan, {"full_name": "No Id"}, tien])
    assert statuses(first) == ["stored", "rejected", "stored"]
    assert (first["stored"], first["rejected"]) == (2, 1)
    assert first["results"][1]["id"] is None
    assert codes(first["results"][1]) == {("item", "email_sip_user_or_user_uuid_required")}
    assert first["results"][0]["errors"] == []

    again = await bulk(client, tenant, "agents", [lan, {**tien, "active": False}])
    assert statuses(again) == ["unchanged", "updated"]
    assert [r["id"] for r in again["results"]] == [r["id"] for r in first["results"][::2]]
    assert (again["unchanged"], again["updated"]) == (1, 1)

    page = await listed(client, tenant, "/api/agent/list")
    by_ext = {a["sip_user"]: a for a in page["items"]}
    assert by_ext["101"]["email"] == "lan@example.vn"  # stored lower-case
    assert by_ext["101"]["full_name_unsigned"] == "Nguyen Thi Lan"
    assert by_ext["101"]["active"] is True and by_ext["102"]["active"] is False
    assert set(by_ext["102"]) == {
        "id",
        "email",
        "full_name",
        "full_name_unsigned",
        "sip_user",
        "user_uuid",
        "active",
    }


async def test_agent_matching_order(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    made = await bulk(
        client,
        tenant,
        "agents",
        [
            {"email": "a@x.vn", "full_name": "A", "sip_user": "101", "user_uuid": "U1"},
            {"email": "b@x.vn", "full_name": "B", "sip_user": "102", "user_uuid": "U2"},
            {"full_name": "C", "sip_user": "103"},
        ],
    )
    a_id, b_id, c_id = (r["id"] for r in made["results"])

    async def one(item: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = (await bulk(client, tenant, "agents", [item]))["results"][0]
        return result

    # email first, case-insensitively, even when the extension is someone else's
    hit = await one({"email": "A@X.VN", "full_name": "A2", "sip_user": "102"})
    assert (hit["status"], hit["id"]) == ("updated", a_id)
    # then user_uuid: an agent whose email changed keeps their record
    hit = await one({"email": "b.new@x.vn", "full_name": "B", "user_uuid": "U2"})
    assert (hit["status"], hit["id"]) == ("updated", b_id)
    # then the extension, for an agent known by nothing else
    hit = await one({"full_name": "C2", "sip_user": "103", "email": "c@x.vn"})
    assert (hit["status"], hit["id"]) == ("updated", c_id)
    # an extension held by someone with another email is passed on, not a match
    hit = await one({"email": "d@x.vn", "full_name": "D", "sip_user": "102"})
    assert hit["status"] == "stored" and hit["id"] not in (a_id, b_id, c_id)
    # a user id held by another agent than the email's is refused, nothing written
    hit = await one({"email": "a@x.vn", "full_name": "A3", "user_uuid": "U2"})
    assert hit["status"] == "rejected"
    assert codes(hit) == {("user_uuid", "user_uuid_taken")}

    page = await listed(client, tenant, "/api/agent/list")
    by_id = {a["id"]: a for a in page["items"]}
    assert by_id[a_id]["full_name"] == "A2" and by_id[a_id]["sip_user"] is None
    assert by_id[b_id]["email"] == "b.new@x.vn" and by_id[b_id]["sip_user"] is None
    assert by_id[c_id]["email"] == "c@x.vn"
    assert by_id[a_id]["user_uuid"] == "U1"  # the refused item changed nothing
    extensions = await listed(client, tenant, "/api/call_center/internal_phone/list")
    assert [(e["sip_user"], e["full_name"]) for e in extensions["items"]] == [
        ("102", "D"),
        ("103", "C2"),
    ]


async def test_customers_upsert(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    hoa = {"code": "KH1", "full_name": "Phạm Thị Hoa", "phones": ["0912345001", "0912345002"]}
    first = await bulk(client, tenant, "customers", [hoa, {"full_name": "X", "phones": ["nope"]}])
    assert statuses(first) == ["stored", "rejected"]
    assert codes(first["results"][1]) == {("phones.0", "invalid_phone")}
    hoa_id = first["results"][0]["id"]

    again = await bulk(client, tenant, "customers", [hoa, {**hoa, "full_name": "Phạm Hoa"}])
    assert statuses(again) == ["unchanged", "updated"]
    # matched by phone when no code is given: any written form of the number
    by_phone = await bulk(
        client, tenant, "customers", [{"full_name": "Phạm Hoa", "phones": ["+84912345002"]}]
    )
    assert by_phone["results"][0] == {"index": 0, "status": "updated", "id": hoa_id, "errors": []}
    # the phones given replace the customer's numbers; the first is the main one
    page = await listed(client, tenant, "/api/customers/list")
    assert page["items"] == [
        {
            "id": hoa_id,
            "code": "KH1",
            "full_name": "Phạm Hoa",
            "full_name_unsigned": "Pham Hoa",
            "phones": ["0912345002"],
        }
    ]


async def test_phone_forms_find_one_customer(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    made = await bulk(
        client, tenant, "customers", [{"full_name": "Đức", "phones": ["84987654321"]}]
    )
    ident = made["results"][0]["id"]
    async with engine.connect() as conn:
        for form in ("0987654321", "84987654321", "+84 987 654 321", "+84-987.654.321"):
            found = await store.customer_by_phone(conn, tenant.id, form)
            assert found == store.CustomerRow(ident, None, "Đức", "0987654321"), form
        assert await store.customer_by_phone(conn, tenant.id, "0987654320") is None
        assert await store.customer_by_phone(conn, tenant.id, "") is None


async def test_phone_moves_between_customers(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    made = await bulk(
        client,
        tenant,
        "customers",
        [{"code": "K1", "full_name": "Một", "phones": ["0911000001", "0911000002"]}],
    )
    one_id = made["results"][0]["id"]
    # another CRM customer claims 0911000001: it moves, it does not merge the two
    moved = await bulk(
        client,
        tenant,
        "customers",
        [{"code": "K2", "full_name": "Hai", "phones": ["+84911000001", "0911000003"]}],
    )
    two_id = moved["results"][0]["id"]
    assert moved["results"][0]["status"] == "stored" and two_id != one_id
    async with engine.connect() as conn:
        owner = await store.customer_by_phone(conn, tenant.id, "0911000001")
        first = await store.customer_by_phone(conn, tenant.id, "0911000002")
    assert owner is not None and owner.id == two_id
    # the loser keeps its other number, which becomes its main one
    assert first == store.CustomerRow(one_id, "K1", "Một", "0911000002")
    page = await listed(client, tenant, "/api/customers/list")
    phones = {c["code"]: c["phones"] for c in page["items"]}
    assert phones == {"K1": ["0911000002"], "K2": ["0911000001", "0911000003"]}


async def test_hotlines_and_queues(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    lines = [
        {"number": "+84 24 7300 1234", "name": "Hà Nội", "provider": "viettel"},
        {"number": "19006000"},
        {"number": "x"},
    ]
    first = await bulk(client, tenant, "hotlines", lines)
    assert statuses(first) == ["stored", "stored", "rejected"]
    assert [r["id"] for r in first["results"]] == ["02473001234", "19006000", None]
    again = await bulk(
        client,
        tenant,
        "hotlines",
        [{"number": "02473001234", "name": "Hà Nội"}, {"number": "19006000", "name": "CSKH"}],
    )
    assert statuses(again) == ["unchanged", "updated"]
    page = await listed(client, tenant, "/api/call_center/hotline/list")
    assert page["items"] == [
        {"number": "19006000", "name": "CSKH", "provider": None},
        {"number": "02473001234", "name": "Hà Nội", "provider": "viettel"},
    ]

    queued = await bulk(
        client,
        tenant,
        "queues",
        [{"number": "5001", "name": "Bán hàng"}, {"number": 900}, {"name": "no number"}],
    )
    assert statuses(queued) == ["stored", "stored", "rejected"]
    assert codes(queued["results"][2]) == {("number", "required")}
    renamed = await bulk(client, tenant, "queues", [{"number": "900", "name": "Kỹ thuật"}])
    assert statuses(renamed) == ["updated"]
    groups = await listed(client, tenant, "/api/call_center/internal_group/list")
    assert groups["items"] == [
        {"group_number": "900", "name": "Kỹ thuật"},
        {"group_number": "5001", "name": "Bán hàng"},
    ]


# ---- the list endpoints ----------------------------------------------------------------


async def test_agent_list_paging_and_keyword(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    await bulk(
        client,
        tenant,
        "agents",
        [
            {"email": "tien@x.vn", "full_name": "Trần Văn Tiến", "sip_user": "101"},
            {"email": "lan@x.vn", "full_name": "Nguyễn Thị Lan", "sip_user": "102"},
            {"full_name": "Đỗ Đức", "user_uuid": "NV-77", "sip_user": "1001"},
        ],
    )
    first = await listed(client, tenant, "/api/agent/list", size=2)
    assert [a["full_name"] for a in first["items"]] == ["Đỗ Đức", "Nguyễn Thị Lan"]
    assert {k: v for k, v in first.items() if k != "items"} == {
        "page_number": 1,
        "page_size": 2,
        "total_items": 3,
        "total_pages": 2,
        "has_next": True,
        "next_page": 2,
        "has_previous": False,
        "previous_page": 1,
    }
    second = await listed(client, tenant, "/api/agent/list", size=2, page=2)
    assert [a["full_name"] for a in second["items"]] == ["Trần Văn Tiến"]
    assert (second["has_next"], second["has_previous"], second["previous_page"]) == (False, True, 1)

    async def found(keyword: str) -> list[str]:
        page = await listed(client, tenant, "/api/agent/list", keyword=keyword)
        return [a["full_name"] for a in page["items"]]

    assert await found("tiến") == ["Trần Văn Tiến"]
    assert await found("TIEN") == ["Trần Văn Tiến"]
    assert await found("duc") == ["Đỗ Đức"]
    assert await found("LAN@") == ["Nguyễn Thị Lan"]
    assert await found("nv-7") == ["Đỗ Đức"]
    assert await found("100") == ["Đỗ Đức"]
    assert await found("%") == []
    oversized = await listed(client, tenant, "/api/agent/list", size=500)
    assert oversized["page_size"] == 50

    extensions = await listed(client, tenant, "/api/call_center/internal_phone/list", size=2)
    assert [e["sip_user"] for e in extensions["items"]] == ["101", "102"]  # numeric order
    assert extensions["total_items"] == 3 and extensions["has_next"] is True
    assert extensions["items"][0]["public_number"] is None
    assert set(extensions["items"][0]) == {
        "sip_user",
        "full_name",
        "agent_id",
        "email",
        "public_number",
        "domain",
    }


async def test_customer_list_keyword(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    await bulk(
        client,
        tenant,
        "customers",
        [
            {"code": "KH-01", "full_name": "Phạm Thị Hoa", "phones": ["0912345001"]},
            {"full_name": "Đặng Văn Đức", "phones": ["0987654321", "0243999888"]},
            {"full_name": "Vũ Anh", "phones": ["0903111222"]},
        ],
    )

    async def found(keyword: str, **query: Any) -> list[str]:
        page = await listed(client, tenant, "/api/customers/list", keyword=keyword, **query)
        return [c["full_name"] for c in page["items"]]

    assert await found("hoa") == ["Phạm Thị Hoa"]
    assert await found("đức") == ["Đặng Văn Đức"]
    assert await found("kh-01") == ["Phạm Thị Hoa"]
    assert await found("0243999") == ["Đặng Văn Đức"]
    assert await found("+84987") == ["Đặng Văn Đức"]
    assert await found("09") == ["Đặng Văn Đức", "Phạm Thị Hoa", "Vũ Anh"]
    assert await found("09", size=1, page=3) == ["Vũ Anh"]
    page = await listed(client, tenant, "/api/customers/list", keyword="duc")
    assert page["items"][0]["phones"] == ["0987654321", "0243999888"]  # the main one first


# ---- tenants --------------------------------------------------------------------------


async def test_tenants_are_isolated(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    mine, theirs = await make_tenant(engine), await make_tenant(engine)
    agent = {"email": "same@x.vn", "full_name": "Mine", "sip_user": "101", "user_uuid": "U1"}
    customer = {"code": "K1", "full_name": "Mine", "phones": ["0912000111"]}
    await bulk(client, mine, "agents", [agent])
    await bulk(client, mine, "customers", [customer])
    await bulk(client, mine, "hotlines", [{"number": "19001111"}])
    await bulk(client, mine, "queues", [{"number": "5001"}])

    # the same identifiers in another tenant are new rows there, and take nothing from here
    theirs_agent = await bulk(client, theirs, "agents", [{**agent, "full_name": "Theirs"}])
    theirs_customer = await bulk(client, theirs, "customers", [{**customer, "full_name": "Theirs"}])
    assert statuses(theirs_agent) == statuses(theirs_customer) == ["stored"]
    for path in (
        "/api/agent/list",
        "/api/customers/list",
        "/api/call_center/internal_phone/list",
    ):
        names = [i["full_name"] for i in (await listed(client, mine, path))["items"]]
        assert names == ["Mine"], path
    assert (await listed(client, theirs, "/api/call_center/hotline/list"))["items"] == []
    assert (await listed(client, theirs, "/api/call_center/internal_group/list"))["items"] == []

    async with engine.connect() as conn:
        found = await store.customer_by_phone(conn, mine.id, "0912000111")
        agents = await store.agents_by_extension(conn, mine.id, ["101"])
        theirs_numbers = await store.tenant_numbers(conn, theirs.id)
    assert found is not None and found.full_name == "Mine"
    assert agents["101"].full_name == "Mine"
    assert theirs_numbers == store.TenantNumbers(frozenset({"101"}), frozenset(), frozenset())


# ---- the lookups ingest makes -----------------------------------------------------------


async def test_lookups(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    tenant = await make_tenant(engine)
    made = await bulk(
        client,
        tenant,
        "agents",
        [
            {"email": "a@x.vn", "full_name": "A", "sip_user": "101", "user_uuid": "U1"},
            {"email": "b@x.vn", "full_name": "B", "sip_user": "102", "active": False},
            {"email": "c@x.vn", "full_name": "C"},
        ],
    )
    await bulk(client, tenant, "hotlines", [{"number": "+842473001234"}])
    await bulk(client, tenant, "queues", [{"number": "5001"}, {"number": "5002"}])
    async with engine.connect() as conn:
        found = await store.agents_by_extension(conn, tenant.id, ["101", "102", "109", "101"])
        nobody = await store.agents_by_extension(conn, tenant.id, [])
        numbers = await store.tenant_numbers(conn, tenant.id)
    assert found == {"101": store.AgentRow(made["results"][0]["id"], "a@x.vn", "A", "101", "U1")}
    assert nobody == {}
    # an inactive agent's extension is still one of the tenant's own numbers
    assert numbers == store.TenantNumbers(
        frozenset({"101", "102"}), frozenset({"02473001234"}), frozenset({"5001", "5002"})
    )


# ---- the command line -------------------------------------------------------------------

runner = CliRunner()


def on_store(url: str, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `work` on its own engine: the CLI runs its own event loop, outside the tests'."""

    async def main() -> T:
        engine = create_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def import_csv(tenant: Tenant, kind: str, name: str) -> Any:
    path = str(FIXTURES / name)
    return runner.invoke(
        cli_app, ["directory", "import", "--tenant", tenant.name, "--kind", kind, path]
    )


def test_cli_import(configured: str) -> None:
    tenant = on_store(configured, make_tenant)

    agents = import_csv(tenant, "agents", "agents.csv")
    assert agents.exit_code == 1  # one row has no full_name
    assert agents.stdout.strip() == "stored 3, updated 0, unchanged 0, rejected 1"
    assert "line 4: full_name required" in agents.stderr

    customers = import_csv(tenant, "customers", "customers.csv")  # with a byte-order mark
    assert customers.stdout.strip() == "stored 3, updated 0, unchanged 0, rejected 1"
    assert "line 5: phones.0 invalid_phone" in customers.stderr
    for kind in ("hotlines", "queues"):
        done = import_csv(tenant, kind, f"{kind}.csv")
        assert done.exit_code == 0, done.output
        assert done.stdout.strip() == "stored 2, updated 0, unchanged 0, rejected 0"

    again = import_csv(tenant, "customers", "customers.csv")
    assert again.stdout.strip() == "stored 0, updated 0, unchanged 3, rejected 1"

    async def check(engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            duc = await store.customer_by_phone(conn, tenant.id, "0987654322")
            hoa = await store.customer_by_phone(conn, tenant.id, "84912345002")
            agents = await store.agents_by_extension(conn, tenant.id, ["101", "102"])
            numbers = await store.tenant_numbers(conn, tenant.id)
        assert duc is not None and (duc.code, duc.phone) == ("KH002", "0987654321")
        assert hoa is not None and (hoa.code, hoa.full_name) == ("KH001", "Phạm Thị Hoa")
        assert agents["101"].email == "lan.nguyen@example.vn"
        assert agents["102"].full_name == "Trần Văn Tiến"
        assert numbers.hotlines == {"02473001234", "19006000"}
        assert numbers.queues == {"5001", "5002"}

    on_store(configured, check)


def test_cli_import_refusals(configured: str, tmp_path: Path) -> None:
    tenant = on_store(configured, make_tenant)
    nobody = Tenant("x", "no-such-tenant", "", "")
    missing = import_csv(nobody, "queues", "queues.csv")
    assert missing.exit_code == 1 and "no tenant" in missing.stderr

    typo = tmp_path / "typo.csv"
    typo.write_text("number,nmae\n5001,Sales\n", encoding="utf-8")
    refused = runner.invoke(
        cli_app, ["directory", "import", "--tenant", tenant.name, "--kind", "queues", str(typo)]
    )
    assert refused.exit_code == 1 and "unknown columns for queues: nmae" in refused.stderr

    latin = tmp_path / "latin.csv"
    latin.write_bytes("number,name\n5001,Bán\n".encode("latin-1"))
    refused = runner.invoke(
        cli_app, ["directory", "import", "--tenant", tenant.name, "--kind", "queues", str(latin)]
    )
    assert refused.exit_code == 1 and "not UTF-8" in refused.stderr

    unquoted = tmp_path / "unquoted.csv"
    unquoted.write_text("full_name,phones\nAn,0912000001,0912000002\n", encoding="utf-8")
    refused = runner.invoke(
        cli_app,
        ["directory", "import", "--tenant", tenant.name, "--kind", "customers", str(unquoted)],
    )
    assert refused.exit_code == 1
    assert refused.stdout.strip() == "stored 0, updated 0, unchanged 0, rejected 1"
    assert "line 2: more cells than columns" in refused.stderr


async def test_concurrent_imports_store_each_agent_once(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(engine)
    batch = [{"email": f"a{i}@x.vn", "full_name": f"A {i}"} for i in range(20)]
    answers = await asyncio.gather(*(bulk(client, tenant, "agents", batch) for _ in range(4)))
    assert sum(a["stored"] for a in answers) == 20
    assert (await listed(client, tenant, "/api/agent/list"))["total_items"] == 20
