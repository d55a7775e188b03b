"""Every item field's JSON type is the type of the source's example value (issue 14).

Clients in C#, Java or Go bind the types of the source's examples and fail on a null
where the example shows a string, a number, a list or an object. So an absent value
is the type's empty value ("", 0, [], {}); only what the examples themselves show as
null may be null (docs/api.md, "Absent values"). Each answer is checked twice: field by
field against the examples' JSON types, and by decoding it as a typed client would
(pydantic strict models built from the same examples).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.db import new_id
from callhistory.schema import call_users
from tests.evaluations.support import evaluate, make_criterion
from tests.factories import Agent, Tenant, add_agent, add_call, make_tenant, window

LIST = "/api/call_transaction/list"
DETAIL = "/api/call_transaction/detail/{}"
CHANGE = "/api/call_transaction/change/{}"
SEARCH = "/api/call_transaction/search"
SYNC = "/api/call_transaction/sync"

# ---- the source's examples (seed/call-history-api.vi.md), copied as they are: comments
# dropped, JSON's true/false/null written True/False/None. The list example's
# "is_voicemail": true/false (not JSON) is written True; its duplicated "record_seconds"
# once.

LIST_EXAMPLE: dict[str, Any] = {
    "transaction_id": "2159f8d9-5a6e-440f-8995-8d0f55c1xxx",
    "direction": "outbound",
    "source_number": "842899990338",
    "destination_number": "0395187319",
    "disposition": "answered",
    "bill_sec": 5,
    "record_seconds": 10,
    "time_start_to_answer": 1575253218,
    "recording_file": "https://drive.google.com/uc?id=6NZI5ZucJ6E-g9NcvXPU8D0&export=download",
    "sip_user": "142",
    "duration": 20,
    "provider": "viettel",
    "note": "Ghi chu cuoc goi",
    "tag": ["hailong", "dongy", "vip"],
    "call_out_price": 2389,
    "created_date": 1575253235933,
    "last_updated_date": 1575253239002,
    "is_voicemail": True,
    "recording_file_voicemail": "",
    "user": [
        {
            "full_name": "TRAN VAN TIEN",
            "full_name_unsigned": "TRAN VAN TIEN",
            "note": "Ghi chú về cuộc gọi ở đây",
            "tag": [{"name": "hailong"}, {"name": "dongy"}, {"name": "vip"}],
        }
    ],
    "create_by": {
        "id": "6475adb3600dc522432610f0",
        "name": "Nguyen Thi Hoa",
        "contact_id": "6475adb0600dc522432610ef",
        "avatar": None,
        "gender": None,
        "uuid": "0383459972",
        "type": "extension",
    },
    "internal_destination": {
        "id": "6475ae1a600dc5224326111c",
        "contact_id": "6475ae19600dc5224326111b",
        "name": "Bui Chi Hau",
        "uuid": "0344171555",
        "extension": "6350",
        "type": "extension",
    },
    "evaluations": None,
    "total_evaluate": None,
    "customer": {"full_name": "Trần Văn Tiến", "full_name_unsigned": "Tran Van Tien"},
    "is_have_forward_out": True,
    "bill_sec_forward_out": 90,
}

DETAIL_EXAMPLE: dict[str, Any] = {
    "transaction_id": "91d3e842-9da2-43ec-8bb1-979c17e817ad",
    "direction": "outbound",
    "source_number": "842727777787",
    "destination_number": "0979816773",
    "disposition": "answered",
    "bill_sec": 232,
    "record_seconds": 232,
    "time_start_to_answer": 1589015432,
    "recording_file": "https://drive.google.com/.......",
    "sip_user": "101",
    "created_date": 1589015675440,
    "last_updated_date": 1589015678726,
    "ivr": "none",
    "call_out_price": 2389,
    "note": "Ghi chu cuoc goi",
    "tag": ["hailong", "dongy", "vip"],
    "provider": "viettel",
    "duration": 242,
    "user": [
        {
            "full_name": "TestBoss 123",
            "full_name_unsigned": "TestBoss 123",
            "note": "Ghi chú về cuộc gọi ở đây",
            "tag": [{"name": "hailong"}, {"name": "dongy"}, {"name": "vip"}],
        }
    ],
    "customer": {"full_name": "Trần Văn Tiến 1", "full_name_unsigned": "Tran Van Tien 1"},
    "is_have_forward_out": True,
    "bill_sec_forward_out": 90,
}

# The source writes "note" twice here, null then a string; a JSON reader keeps the last.
CHANGE_EXAMPLE: dict[str, Any] = {
    "transaction_id": "91d3e842-9da2-43ec-8bb1-979c17e817ad",
    "direction": "outbound",
    "source_number": "842727777787",
    "destination_number": "0979816773",
    "disposition": "answered",
    "bill_sec": 232,
    "record_seconds": 232,
    "time_start_to_answer": 1589015432,
    "recording_file": "https://drive.google.com/uc?id=1Jry_LGzQM....",
    "sip_user": "101",
    "created_date": 1589015675440,
    "last_updated_date": 1589015678726,
    "ivr": "none",
    "provider": "viettel",
    "note": "Ghi chu cuoc goi",
    "tag": ["hailong", "dongy", "vip"],
    "duration": 242,
    "user": [
        {
            "full_name": "TestBoss 123",
            "full_name_unsigned": "TestBoss 123",
            "note": "Ghi chu cuoc goi",
            "tag": [{"name": "hailong"}, {"name": "dongy"}, {"name": "vip"}],
        }
    ],
    "customer": {"full_name": "Trần Văn Tiến 1", "full_name_unsigned": "Tran Van Tien 1"},
}

SEARCH_EXAMPLE: dict[str, Any] = {
    "_id": "123400000000000000000000",
    "created_date": 946659600000,
    "last_updated_date": 946659600000,
    "create_by": {
        "id": "123400000000000000000000",
        "name": "Lorem ipsum dolor sit amet.",
        "contact_id": "123400000000000000000000",
        "type": "agent",
        "extension": "0123456",
    },
    "tenant_id": "123400000000000000000000",
    "transaction_id": "7125081d-288a-4d35-8eb1-012345678912",
    "direction": "local",
    "source_number": "0123456",
    "destination_number": "0123456",
    "disposition": "cancelled",
    "duration": 28,
    "bill_sec": 0,
    "record_seconds": 0,
    "time_start_call": 9466596000,
    "time_end_call": 9466596000,
    "time_start_to_answer": 9466596000,
    "ms_time_start_to_answer": 946659600000,
    "time_start_media": 9466596000,
    "wait_sec": 0,
    "hold_call_sec": 0,
    "hangup_cause": "ORIGINATOR_CANCEL",
    "hangup_cause_q850": 16,
    "customer": {
        "_id": "649e981afd4c703b39692f5f",
        "full_name": "Lorem ipsum dolor sit amet.",
        "full_name_unsigned": "Lorem ipsum dolor sit amet.",
        "uuid": "0123456789",
        "type": "extension",
        "extension": "0123456",
    },
    "user": [
        {
            "_id": "123400000000000000000000",
            "full_name": "Lorem ipsum dolor sit amet.",
            "full_name_unsigned": "Lorem ipsum dolor sit amet.",
            "tags_view": [],
            "note_created_date": 1696421425598,
        }
    ],
    "sip_user": "0123456",
    "is_stop_ivr": False,
    "ivr": "none",
    "is_have_forward_out": False,
    "is_auto_call": False,
    "is_deleted": False,
    "rtp_audio_in_mos": 4.5,
    "is_callbot": False,
    "dial_status": "CANCEL",
    "answer_sec": 0,
    "domain_fusion": "Lorem ipsum dolor sit amet.",
    "sip_from_user": "1000071",
    "nation": "vn",
    "is_ai": False,
    "domain": "Lorem ipsum dolor sit amet.",
    "playback_seconds": 0,
    "pbx_type": "",
    "is_trunk": False,
    "suspicious_checked": False,
    "is_missed_call": False,
    "is_analyzed": False,
    "internal_destination": {
        "id": "123400000000000000000000",
        "contact_id": "649e981afd4c703b39692f5f",
        "name": "Lorem ipsum dolor sit amet.",
        "uuid": "0123456789",
        "extension": "0123456",
        "type": "extension",
    },
}

# ---- what each answer must look like, from the examples alone -------------------------

# Ours beyond the source's search example, typed as the list example's fields of the name.
SEARCH_EXTRAS = (
    "note",
    "tag",
    "recording_file",
    "provider",
    "call_out_price",
    "evaluations",
    "total_evaluate",
)
# The source shows tags_view only as []; its element is ours: the tag's id and name.
TAG_VIEW = {"_id": "123400000000000000000000", "name": "hailong"}

EXPECTED_LIST = LIST_EXAMPLE
EXPECTED_DETAIL = {**LIST_EXAMPLE, **DETAIL_EXAMPLE}  # detail: the list item plus ivr
EXPECTED_CHANGE = {**LIST_EXAMPLE, **CHANGE_EXAMPLE}
EXPECTED_SEARCH = {
    **SEARCH_EXAMPLE,
    **{key: LIST_EXAMPLE[key] for key in SEARCH_EXTRAS},
    "user": [
        {
            **SEARCH_EXAMPLE["user"][0],
            "tags_view": [TAG_VIEW],
            "note": LIST_EXAMPLE["user"][0]["note"],
        }
    ],
}
EXPECTED_SYNC = {**LIST_EXAMPLE, "tenant_id": "", "is_deleted": False}

# Null in the source's examples: null, or (when there is one) a value of this JSON type.
NULL_IN_SOURCE = {
    "evaluations": "array",
    "total_evaluate": "object",
    "avatar": "string",
    "gender": "string",
}
ABSENT_OBJECTS = ("create_by", "internal_destination", "customer")


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: True is an int to Python, not to a client
        return "boolean"
    names = {int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    return names[type(value)]


def _scalar(value: Any, example: Any, path: str) -> list[str]:
    want, got = json_type(example), json_type(value)
    if example is None:
        allowed = {"null", NULL_IN_SOURCE.get(path.rsplit(".", 1)[-1], "null")}
        return [] if got in allowed else [f"{path}: {got}, the source shows null"]
    # a float field takes any JSON number; an integer field only integers (never 4.0)
    if want == "number" and got == "integer":
        return []
    return [] if got == want else [f"{path}: {got} {value!r}, the source shows {want}"]


def mismatches(value: Any, example: Any, path: str = "item") -> list[str]:
    """Where `value` differs in JSON type from the source's `example`, recursively."""
    if isinstance(example, dict) and isinstance(value, dict):
        if value == {} and path.rsplit(".", 1)[-1] in ABSENT_OBJECTS:
            return []  # the absent object
        if set(value) != set(example):
            return [f"{path}: keys {sorted(set(value) ^ set(example))} differ"]
        return [m for k in example for m in mismatches(value[k], example[k], f"{path}.{k}")]
    if isinstance(example, list) and isinstance(value, list):
        if not example:
            return []
        return [m for i, v in enumerate(value) for m in mismatches(v, example[0], f"{path}[{i}]")]
    if value is not None and isinstance(example, dict | list):
        return [f"{path}: {json_type(value)}, the source shows {json_type(example)}"]
    return _scalar(value, example, path)


# ---- a statically typed client, built from the same examples --------------------------

NULLABLE_TYPES: dict[str, Any] = {
    "evaluations": list[dict[str, Any]] | None,
    "total_evaluate": dict[str, Any] | None,
    "avatar": str | None,
    "gender": str | None,
}
STRICT = ConfigDict(strict=True, extra="ignore")  # a client ignores keys it does not know


def _annotation(example: Any, name: str) -> Any:
    if isinstance(example, dict):
        return typed_client(example, name, nested=True)
    if isinstance(example, list):
        return list[_annotation(example[0], name)] if example else list[Any]
    return type(example)


def _zero(kind: Any) -> dict[str, Any]:
    """The zero value C#, Java and Go decoders give a key missing inside an object."""
    if kind in NULLABLE_TYPES.values():
        return {"default": None}
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return {"default_factory": kind}
    if kind in (str, int, float, bool):
        return {"default": kind()}
    return {"default_factory": list}


def _field(key: str, kind: Any, nested: bool) -> tuple[Any, Any]:
    alias = {"alias": key} if key.startswith("_") else {}
    # the item's keys are all required; inside an object ({} for an absent one) a missing
    # key decodes to its zero value, but a null where the type is not nullable fails
    return (kind, Field(**alias, **(_zero(kind) if nested else {})))


def typed_client(example: dict[str, Any], name: str, nested: bool = False) -> type[BaseModel]:
    """A strict model of `example`: each key of its value's type, nullable only where null."""
    fields: dict[str, Any] = {}
    for key, value in example.items():
        kind = NULLABLE_TYPES[key] if value is None else _annotation(value, f"{name}_{key}")
        fields[f"x{key}" if key.startswith("_") else key] = _field(key, kind, nested)
    model: type[BaseModel] = create_model(name, __config__=STRICT, **fields)
    return model


CLIENTS = {
    "list": typed_client(EXPECTED_LIST, "ListItem"),
    "detail": typed_client(EXPECTED_DETAIL, "Detail"),
    "change": typed_client(EXPECTED_CHANGE, "Change"),
    "search": typed_client(EXPECTED_SEARCH, "SearchItem"),
    "sync": typed_client(EXPECTED_SYNC, "SyncItem"),
}


def check(kind: str, item: dict[str, Any], expected: dict[str, Any]) -> None:
    """`item` as decoded from the wire (`r.json()`): 4.0 stays a float, true a boolean."""
    assert mismatches(item, expected) == []
    CLIENTS[kind].model_validate(item)


# ---- the calls ------------------------------------------------------------------------


@dataclass
class Scene:
    tenant: Tenant
    bare: str  # every optional field absent
    full: str  # every optional field present
    ghost: Agent  # on the bare call: nothing known of them but a name and an extension
    agent: Agent  # on the full call


FULL_COLUMNS: dict[str, Any] = {
    "time_start_call": 1_795_000_000,
    "time_start_to_answer": 1_795_000_012,
    "ms_time_start_to_answer": 1_795_000_012_345,
    "time_start_media": 1_795_000_012,
    "time_end_call": 1_795_000_100,
    "recording_file": "https://rec.example.vn/full.mp3",
    "recording_file_voicemail": "https://rec.example.vn/full-vm.mp3",
    "is_voicemail": True,
    "provider": "viettel",
    "call_out_price": 2389,
    "hangup_cause": "NORMAL_CLEARING",
    "hangup_cause_q850": 16,
    "dial_status": "ANSWER",
    "rtp_audio_in_mos": 4.0,  # a whole float: still a JSON number, never cast to 4
    "domain": "acme.callcenter.vn",
    "domain_fusion": "acme.callcenter.vn",
    "sip_from_user": "142",
    "pbx_type": "freeswitch",
    "is_have_forward_out": True,
    "bill_sec_forward_out": 90,
    "wait_sec": 12,
    "hold_call_sec": 3,
    "answer_sec": 88,
    "playback_seconds": 4,
    "customer_number": "0395187319",
}


def _parties(agent: Agent, callee: Agent) -> dict[str, Any]:
    return {
        "create_by": {
            "id": agent.id,
            "name": agent.full_name,
            "contact_id": new_id(),
            "avatar": None,
            "gender": None,
            "uuid": agent.user_uuid,
            "type": "extension",
            "extension": agent.sip_user,
        },
        "internal_destination": {
            "id": callee.id,
            "contact_id": new_id(),
            "name": callee.full_name,
            "uuid": callee.user_uuid,
            "extension": callee.sip_user,
            "type": "extension",
        },
    }


async def _bare_call(engine: AsyncEngine, t: Tenant, ghost: Agent) -> str:
    tx = await add_call(engine, t, disposition="cancelled", agents_on_call=[ghost], sip_user=None)
    async with engine.begin() as conn:  # an agent the PBX named, the directory does not know
        await conn.execute(
            update(call_users)
            .where(call_users.c.tenant_id == t.id, call_users.c.transaction_id == tx)
            .values(agent_id=None)
        )
    return tx


async def _full_call(
    engine: AsyncEngine, client: httpx.AsyncClient, t: Tenant, agent: Agent
) -> str:
    callee = await add_agent(engine, t, "Bùi Chí Hậu", "6350")
    supervisor = await add_agent(engine, t, "Trần Quản Lý", "900")
    tx = await add_call(
        engine,
        t,
        agents_on_call=[agent, callee],
        customer_name="Trần Văn Tiến",
        customer_id=new_id(),
        note="Ghi chu cuoc goi",
        tags=["hailong", "vip"],
        **FULL_COLUMNS,
        **_parties(agent, callee),
    )
    user_note = {"user_uuid": agent.user_uuid, "note": "Ghi chú", "tag": ["dongy"]}
    assert (await client.post(CHANGE.format(tx), json=user_note, headers=t.headers)).is_success
    criterion = await make_criterion(client, t, "Chào khách", 5)
    r = await evaluate(client, t, tx, supervisor.user_uuid, [(criterion["id"], 4)])
    assert r.status_code == 201, r.text
    return tx


@pytest.fixture
async def scene(engine: AsyncEngine, client: httpx.AsyncClient) -> Scene:
    t = await make_tenant(engine)
    ghost = await add_agent(engine, t, "Nhân viên lạ", "777")
    agent = await add_agent(engine, t, "Trần Văn Tiến", "142")
    bare = await _bare_call(engine, t, ghost)
    return Scene(t, bare, await _full_call(engine, client, t, agent), ghost, agent)


async def _payload(r: httpx.Response) -> Any:
    assert r.status_code == 200, r.text
    return r.json()["payload"]


async def _listed(client: httpx.AsyncClient, s: Scene) -> dict[str, dict[str, Any]]:
    page = await _payload(await client.get(LIST, params=window(), headers=s.tenant.headers))
    return {item["transaction_id"]: item for item in page["items"]}


async def _searched(client: httpx.AsyncClient, s: Scene) -> dict[str, dict[str, Any]]:
    body = {**window(), "user_uuids": [s.ghost.user_uuid, s.agent.user_uuid]}
    page = await _payload(await client.post(SEARCH, json=body, headers=s.tenant.headers))
    return {item["transaction_id"]: item for item in page["items"]}


LIST_ABSENT: dict[str, Any] = {
    "time_start_to_answer": 0,
    "recording_file": "",
    "sip_user": "",
    "provider": "",
    "note": "",
    "tag": [],
    "call_out_price": 0,
    "recording_file_voicemail": "",
    "create_by": {},
    "internal_destination": {},
    "evaluations": None,
    "total_evaluate": None,
    "customer": {},
}
SEARCH_ABSENT: dict[str, Any] = {
    **{k: LIST_ABSENT[k] for k in SEARCH_EXTRAS},
    "create_by": {},
    "internal_destination": {},
    "customer": {},
    "time_start_call": 0,
    "time_end_call": 0,
    "time_start_to_answer": 0,
    "ms_time_start_to_answer": 0,
    "time_start_media": 0,
    "hangup_cause": "",
    "hangup_cause_q850": 0,
    "sip_user": "",
    "ivr": "none",
    "rtp_audio_in_mos": 0,
    "dial_status": "",
    "domain_fusion": "",
    "sip_from_user": "",
    "domain": "",
    "pbx_type": "",
}
ITEM_SCHEMAS = (
    "CallListItem",
    "CallDetail",
    "SyncItem",
    "CallSearchItem",
    "Party",
    "SearchParty",
    "InternalDestination",
    "CallUser",
    "Customer",
    "SearchUser",
    "SearchCustomer",
    "TagName",
    "TagView",
)
DOCUMENTED_NULLS = {
    *(f"{item}.{key}" for item in ITEM_SCHEMAS[:4] for key in ("evaluations", "total_evaluate")),
    "Party.avatar",
    "Party.gender",
}


# ---- the tests ------------------------------------------------------------------------


def test_the_source_agrees_with_itself() -> None:
    """The merged expectations rest on the examples giving one field one type."""
    for example in (DETAIL_EXAMPLE, CHANGE_EXAMPLE):
        shared = {k: example[k] for k in example if k in LIST_EXAMPLE}
        assert mismatches(shared, {k: LIST_EXAMPLE[k] for k in shared}) == []
    common = set(SEARCH_EXAMPLE) & set(LIST_EXAMPLE) - {"user", "create_by", "customer"}
    for key in common:
        assert json_type(SEARCH_EXAMPLE[key]) == json_type(LIST_EXAMPLE[key]), key


def test_the_checker_refuses_what_a_typed_client_refuses() -> None:
    item = json.loads(json.dumps(LIST_EXAMPLE))
    assert mismatches(item, EXPECTED_LIST) == []
    CLIENTS["list"].model_validate(item)
    for key, wrong in (("call_out_price", None), ("bill_sec", 5.0), ("is_voicemail", 1)):
        assert mismatches({**item, key: wrong}, EXPECTED_LIST) != [], key
        with pytest.raises(ValueError):
            CLIENTS["list"].model_validate({**item, key: wrong})
    assert mismatches({**item, "create_by": None}, EXPECTED_LIST) != []


async def test_list_items(scene: Scene, client: httpx.AsyncClient) -> None:
    items = await _listed(client, scene)
    for tx in (scene.bare, scene.full):
        check("list", items[tx], EXPECTED_LIST)


async def test_detail(scene: Scene, client: httpx.AsyncClient) -> None:
    for tx in (scene.bare, scene.full):
        r = await client.get(DETAIL.format(tx), headers=scene.tenant.headers)
        check("detail", await _payload(r), EXPECTED_DETAIL)


async def test_search_items(scene: Scene, client: httpx.AsyncClient) -> None:
    items = await _searched(client, scene)
    for tx in (scene.bare, scene.full):
        check("search", items[tx], EXPECTED_SEARCH)


async def test_sync_items(scene: Scene, client: httpx.AsyncClient) -> None:
    """The sync feed (and so the webhooks' bodies) reuse the list item."""
    page = await _payload(
        await client.get(SYNC, params={"from_date": 0}, headers=scene.tenant.headers)
    )
    assert {item["transaction_id"] for item in page["items"]} == {scene.bare, scene.full}
    for item in page["items"]:
        check("sync", item, EXPECTED_SYNC)


async def test_change_with_empty_notes_answers_empty_strings(
    scene: Scene, client: httpx.AsyncClient
) -> None:
    headers = scene.tenant.headers
    for body in (
        {"note": ""},
        {"note": "", "user_uuid": scene.ghost.user_uuid},
        {"note": None, "tag": []},
    ):
        p = await _payload(await client.post(CHANGE.format(scene.bare), json=body, headers=headers))
        check("change", p, EXPECTED_CHANGE)
        assert (p["note"], p["user"][0]["note"]) == ("", "")
    p = await _payload(
        await client.post(CHANGE.format(scene.full), json={"note": "x"}, headers=headers)
    )
    check("change", p, EXPECTED_CHANGE)


async def test_absent_values_are_the_documented_ones(
    scene: Scene, client: httpx.AsyncClient
) -> None:
    listed, searched = (
        (await _listed(client, scene))[scene.bare],
        (await _searched(client, scene))[scene.bare],
    )
    assert {k: listed[k] for k in LIST_ABSENT} == LIST_ABSENT
    assert listed["user"][0]["note"] == ""
    assert {k: searched[k] for k in SEARCH_ABSENT} == SEARCH_ABSENT
    assert isinstance(searched["rtp_audio_in_mos"], float)
    assert {k: searched["user"][0][k] for k in ("_id", "note", "note_created_date")} == {
        "_id": "",
        "note": "",
        "note_created_date": 0,
    }
    detail = await _payload(
        await client.get(DETAIL.format(scene.bare), headers=scene.tenant.headers)
    )
    assert detail["ivr"] == "none"


async def test_present_values_come_through(scene: Scene, client: httpx.AsyncClient) -> None:
    listed, searched = (
        (await _listed(client, scene))[scene.full],
        (await _searched(client, scene))[scene.full],
    )
    assert listed["call_out_price"] == 2389 and listed["recording_file"].endswith("full.mp3")
    assert (listed["create_by"]["avatar"], listed["create_by"]["gender"]) == (None, None)
    assert listed["internal_destination"]["extension"] == "6350"
    assert listed["evaluations"] and listed["total_evaluate"]["count"] == 1
    assert searched["rtp_audio_in_mos"] == 4.0 and isinstance(searched["rtp_audio_in_mos"], float)
    assert searched["customer"]["extension"] == "" and searched["customer"]["type"] == "customer"
    assert searched["user"][0]["note_created_date"] > 0


async def test_a_party_missing_keys_answers_empty_strings(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(engine)
    tx = await add_call(engine, t, create_by={"id": "c1", "name": "Khách"}, internal_destination={})
    p = await _payload(await client.get(DETAIL.format(tx), headers=t.headers))
    assert p["create_by"] == {
        "id": "c1",
        "name": "Khách",
        "contact_id": "",
        "avatar": None,
        "gender": None,
        "uuid": "",
        "type": "",
    }
    assert p["internal_destination"] == {}


async def test_the_document_declares_null_only_where_the_source_shows_it(
    client: httpx.AsyncClient,
) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    nullable = {
        f"{name}.{key}"
        for name in ITEM_SCHEMAS
        for key, prop in schemas[name]["properties"].items()
        if {"type": "null"} in prop.get("anyOf", [])
    }
    assert nullable == DOCUMENTED_NULLS
