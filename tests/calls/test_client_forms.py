"""Requests written the way the original API's clients write them: PHP's
`http_build_query` and `json_encode`, Node's `qs` (every array format), `URLSearchParams`
and `querystring`, float epochs from `time.time() * 1000` and `microtime(true) * 1000`.

Each filter is checked against a scene where it selects a strict subset of the calls,
so a spelling the server silently ignored (answering every call) fails the test."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import DAY_MS, Agent, Tenant, add_agent, add_call, make_tenant, now_ms

LIST = "/api/call_transaction/list"
SEARCH = "/api/call_transaction/search"
REPORT = "/api/call_transaction/report"

Params = dict[str, Any]

# ---- the clients' serialisers, as their documentation specifies them ---------------------


def _php_scalar(value: Any) -> str:
    if value is True:
        return "1"  # PHP writes booleans as 1 and 0
    if value is False:
        return "0"
    return str(value)


def php_http_build_query(data: Params) -> str:
    """PHP's http_build_query: `k[0]=v` for lists, brackets percent-encoded, spaces as +."""
    pieces: list[str] = []
    for key, value in data.items():
        if value is None:
            continue  # PHP leaves nulls out
        if isinstance(value, list):
            pieces += [
                f"{quote_plus(f'{key}[{i}]')}={quote_plus(_php_scalar(v))}"
                for i, v in enumerate(value)
            ]
        else:
            pieces.append(f"{quote_plus(key)}={quote_plus(_php_scalar(value))}")
    return "&".join(pieces)


def _qs_pair(key: str, value: Any) -> str:
    return f"{quote(key, safe='')}={quote(_qs_text(value), safe='')}"


def qs_stringify(array_format: str) -> Callable[[Params], str]:
    """Node's `qs.stringify(data, {arrayFormat})`: indices (its default), brackets, repeat,
    comma; keys and values percent-encoded (RFC 3986)."""

    def stringify(data: Params) -> str:
        pieces: list[str] = []
        for key, value in data.items():
            if not isinstance(value, list):
                pieces.append(_qs_pair(key, value))
            elif array_format == "comma":
                pieces.append(_qs_pair(key, ",".join(_qs_text(v) for v in value)))
            else:
                names = {"indices": "{key}[{i}]", "brackets": "{key}[]", "repeat": "{key}"}
                pattern = names[array_format]
                pieces += [_qs_pair(pattern.format(key=key, i=i), v) for i, v in enumerate(value)]
        return "&".join(pieces)

    return stringify


def _qs_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


SERIALISERS = {
    "php": php_http_build_query,
    "qs-indices": qs_stringify("indices"),
    "qs-brackets": qs_stringify("brackets"),
    "qs-repeat": qs_stringify("repeat"),
    "qs-comma": qs_stringify("comma"),
}

# ---- the scene ---------------------------------------------------------------------------


class Scene:
    def __init__(self, tenant: Tenant, ana: Agent, binh: Agent, calls: dict[str, str]) -> None:
        self.tenant, self.ana, self.binh, self.calls = tenant, ana, binh, calls
        self.window = {"from_date": now_ms() - 10 * DAY_MS, "to_date": now_ms() + DAY_MS}

    def ids(self, *names: str) -> set[str]:
        return {self.calls[name] for name in names}


@pytest.fixture(scope="module")
async def scene(engine: AsyncEngine) -> Scene:
    tenant = await make_tenant(engine, "clients")
    ana = await add_agent(engine, tenant, "Lê Thị Ana", "201", "ana@acme.vn")
    binh = await add_agent(engine, tenant, "Phạm Bình", "202", "binh@acme.vn")
    day = now_ms() - 2 * DAY_MS
    calls = {
        "in_ana": await add_call(
            engine, tenant, created_date=day, agents_on_call=[ana], destination_number="19001234"
        ),
        "out_binh_auto": await add_call(
            engine,
            tenant,
            created_date=day + 1,
            direction="outbound",
            disposition="cancelled",
            agents_on_call=[binh],
            source_number="02873001234",
            destination_number="0912000111",
            is_auto_call=True,
        ),
        "local_ana": await add_call(
            engine,
            tenant,
            created_date=day + 2,
            direction="local",
            agents_on_call=[ana],
            source_number="201",
            destination_number="202",
            is_auto_call=False,
        ),
        "in_missed": await add_call(
            engine,
            tenant,
            created_date=day + 3,
            disposition="cancelled",
            destination_number="19005555",
        ),
    }
    return Scene(tenant, ana, binh, calls)


async def _listed(client: httpx.AsyncClient, scene: Scene, query: str) -> set[str]:
    r = await client.get(f"{LIST}?{query}", headers=scene.tenant.headers)
    assert r.status_code == 200, r.text
    return {item["transaction_id"] for item in r.json()["payload"]["items"]}


# (filters, the calls they select): each a strict, non-empty subset of the scene
LIST_CASES: list[tuple[Callable[[Scene], Params], tuple[str, ...]]] = [
    (lambda s: {"agents": [s.ana.email]}, ("in_ana", "local_ana")),
    (
        lambda s: {"agents": [s.ana.email.upper(), s.binh.email]},
        ("in_ana", "out_binh_auto", "local_ana"),
    ),
    (lambda s: {"direction": ["outbound", "local"]}, ("out_binh_auto", "local_ana")),
    (lambda s: {"disposition": ["cancelled"]}, ("out_binh_auto", "in_missed")),
    (lambda s: {"sip_numbers": ["1900 5555"]}, ("in_missed",)),
    (lambda s: {"sip_numbers": ["+842873001234", "19001234"]}, ("in_ana", "out_binh_auto")),
    (lambda s: {"user_uuids": [s.binh.user_uuid]}, ("out_binh_auto",)),
    (lambda s: {"user_uuids": ["201"]}, ("in_ana", "local_ana")),
    (lambda s: {"is_auto_call": [True]}, ("out_binh_auto",)),
    (lambda s: {"is_auto_call": True}, ("out_binh_auto",)),
    (
        lambda s: {"is_auto_call": [True, False]},
        ("in_ana", "out_binh_auto", "local_ana", "in_missed"),
    ),
    (lambda s: {"direction": ["inbound"], "agents": [s.ana.email]}, ("in_ana",)),
]


@pytest.mark.parametrize("serialiser", SERIALISERS)
@pytest.mark.parametrize("case", range(len(LIST_CASES)))
async def test_list_filters_in_every_client_spelling(
    client: httpx.AsyncClient, scene: Scene, serialiser: str, case: int
) -> None:
    filters, expected = LIST_CASES[case]
    query = SERIALISERS[serialiser]({**scene.window, **filters(scene)})
    assert await _listed(client, scene, query) == scene.ids(*expected), query


async def test_every_call_without_filters(client: httpx.AsyncClient, scene: Scene) -> None:
    """The baseline the cases above are strict subsets of."""
    assert await _listed(client, scene, php_http_build_query(scene.window)) == set(
        scene.calls.values()
    )


def _node(script: str) -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: its own serialisers cannot be run")
    done = subprocess.run(
        [node, "-e", script], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.strip()


@pytest.mark.parametrize(
    "serialiser",
    [
        "new URLSearchParams(data).toString()",  # arrays joined by commas
        "require('querystring').stringify(data)",  # arrays as repeated keys
    ],
)
async def test_node_built_in_serialisers(
    client: httpx.AsyncClient, scene: Scene, serialiser: str
) -> None:
    data = {**scene.window, "agents": [scene.ana.email], "direction": ["inbound", "local"]}
    query = _node(f"const data = {json.dumps(data)}; console.log({serialiser});")
    assert await _listed(client, scene, query) == scene.ids("in_ana", "local_ana"), query


@pytest.mark.parametrize("serialiser", SERIALISERS)
async def test_report_arrays_in_every_client_spelling(
    client: httpx.AsyncClient, scene: Scene, serialiser: str
) -> None:
    async def totals(filters: Params) -> dict[str, int]:
        query = SERIALISERS[serialiser]({**scene.window, **filters})
        r = await client.get(f"{REPORT}?{query}", headers=scene.tenant.headers)
        assert r.status_code == 200, r.text
        payload = r.json()["payload"]
        counts = {d["_id"]: d["total_count"] for d in payload["categorized_by_direction"]}
        return {**counts, "local": payload["categorized_by_local_direction"]["total_call"]}

    assert await totals({}) == {"inbound": 2, "outbound": 1, "local": 1}
    assert await totals({"numbers": ["19005555"]}) == {"inbound": 1, "outbound": 0, "local": 0}
    assert await totals({"agents": [scene.ana.email]}) == {"inbound": 1, "outbound": 0, "local": 1}
    assert await totals({"sip_user": ["202"]}) == {"inbound": 0, "outbound": 1, "local": 0}


@pytest.mark.parametrize(
    ("path", "key"),
    [
        (LIST, "agent[]"),  # the misspelt array the issue saw answer every call
        (LIST, "agent[0]"),
        (LIST, "from_date[]"),  # a scalar is not an array
        (LIST, "agents[0][email]"),  # qs's nested objects
        (LIST, "keyword[]"),
        (REPORT, "number[]"),
        (REPORT, "direction[]"),  # an array of the list, not of the report
        ("/api/evaluations/report", "agent[0]"),
        ("/api/call_transaction/sync", "cursor[]"),
        ("/api/tags", "keyword[0]"),
        ("/api/agent/list", "page[]"),
        ("/api/webhooks/deliveries", "status[]"),
    ],
)
async def test_a_misspelt_array_is_refused_never_ignored(
    client: httpx.AsyncClient, scene: Scene, path: str, key: str
) -> None:
    query = f"{php_http_build_query(scene.window)}&{quote(key)}=x"
    r = await client.get(f"{path}?{query}", headers=scene.tenant.headers)
    assert r.status_code == 400, r.text
    body = r.json()
    assert (body["status_code"], body["message"]) == (-9999, "unknown_parameter")
    assert body["payload"] == [{"field": key, "code": "unknown_parameter"}]


async def test_search_query_string_refuses_a_misspelt_array(
    client: httpx.AsyncClient, scene: Scene
) -> None:
    body = {**scene.window, "user_uuids": ["201"]}
    r = await client.post(f"{SEARCH}?size[]=5", json=body, headers=scene.tenant.headers)
    assert (r.status_code, r.json()["message"]) == (400, "unknown_parameter")


async def test_plain_unknown_keys_such_as_cache_busters_are_tolerated(
    client: httpx.AsyncClient, scene: Scene
) -> None:
    query = f"{php_http_build_query(scene.window)}&_=1793979050000&agents[0]={scene.binh.email}"
    assert await _listed(client, scene, query) == scene.ids("out_binh_auto")


# ---- epochs as floats and strings --------------------------------------------------------


@pytest.mark.parametrize(
    "spell",
    [
        lambda ms: float(ms),  # time.time() * 1000 rounded by the client
        lambda ms: f"{float(ms)}",  # "1793979050000.0" in a query string
        lambda ms: f"{ms:.3f}",  # PHP's number_format / printf("%.3f")
        lambda ms: f"{ms / 1000:.3f}e3",
        lambda ms: f" {ms} ",
    ],
)
async def test_float_and_string_epochs_in_the_query(
    client: httpx.AsyncClient, scene: Scene, spell: Callable[[int], Any]
) -> None:
    window = {key: spell(value) for key, value in scene.window.items()}
    query = php_http_build_query({**window, "direction": ["local"]})
    assert await _listed(client, scene, query) == scene.ids("local_ana")


async def test_float_and_string_epochs_in_the_search_body(
    client: httpx.AsyncClient, scene: Scene
) -> None:
    for window in (
        {key: float(value) for key, value in scene.window.items()},
        {key: str(value) for key, value in scene.window.items()},
        {key: f"{value}.0" for key, value in scene.window.items()},
    ):
        body = {**window, "user_uuids": [scene.binh.user_uuid]}
        r = await client.post(f"{SEARCH}?page=1.0&size=50", json=body, headers=scene.tenant.headers)
        assert r.status_code == 200, r.text
        assert [i["transaction_id"] for i in r.json()["payload"]["items"]] == [
            scene.calls["out_binh_auto"]
        ]


async def test_a_fraction_of_a_millisecond_keeps_its_meaning(
    client: httpx.AsyncClient, scene: Scene
) -> None:
    """The window is inclusive and calls are stamped in whole ms: `from` T-0.5 takes the
    call at T, T+0.5 does not; `to` T+0.5 takes it, T-0.5 does not."""

    async def found(start: float, end: float) -> bool:
        query = php_http_build_query({"from_date": start, "to_date": end, "direction": ["local"]})
        return scene.calls["local_ana"] in await _listed(client, scene, query)

    r = await client.get(
        f"/api/call_transaction/detail/{scene.calls['local_ana']}", headers=scene.tenant.headers
    )
    stamp = r.json()["payload"]["created_date"]
    assert await found(stamp - 0.5, stamp + 0.5)
    assert not await found(stamp + 0.5, stamp + 1000)
    assert not await found(stamp - 1000, stamp - 0.5)
    assert await found(stamp - 1000.25, stamp + 0.999)


@pytest.mark.parametrize(
    "bad", ["abc", "NaN", "Infinity", "1e400", "0x10", "1_793_979_050_000", "-1.0", "1.0.0", "true"]
)
async def test_what_is_not_an_epoch_is_date_invalid(
    client: httpx.AsyncClient, scene: Scene, bad: str
) -> None:
    query = f"from_date={quote(bad)}&to_date={scene.window['to_date']}"
    r = await client.get(f"{LIST}?{query}", headers=scene.tenant.headers)
    assert (r.status_code, r.json()["message"]) == (400, "date_invalid")


async def test_float_from_after_to_is_date_invalid(client: httpx.AsyncClient, scene: Scene) -> None:
    stamp = float(scene.window["to_date"])
    query = php_http_build_query({"from_date": stamp + 0.5, "to_date": stamp + 0.25})
    r = await client.get(f"{LIST}?{query}", headers=scene.tenant.headers)
    assert (r.status_code, r.json()["message"]) == (400, "date_invalid")


@pytest.mark.parametrize(
    ("page", "size", "status"), [("1.0", "2.0", 200), ("1.5", "2", 400), ("1", "2.5", 400)]
)
async def test_paging_numbers_as_javascript_and_php_write_them(
    client: httpx.AsyncClient, scene: Scene, page: str, size: str, status: int
) -> None:
    query = f"{php_http_build_query(scene.window)}&page={page}&size={size}"
    r = await client.get(f"{LIST}?{query}", headers=scene.tenant.headers)
    assert r.status_code == status, r.text
    if status == 200:
        assert r.json()["payload"]["page_size"] == 2
    else:
        assert r.json()["payload"][0]["code"] == "must_be_a_positive_integer"


# ---- JSON bodies as PHP's json_encode writes them ----------------------------------------


async def test_search_takes_the_object_json_encode_makes_of_a_sparse_php_array(
    client: httpx.AsyncClient, scene: Scene
) -> None:
    """After `unset($uuids[0])`, json_encode writes `{"1": "202"}`, not a list."""
    body = {**scene.window, "user_uuids": {"1": "202"}, "direction": {"0": "outbound"}}
    r = await client.post(SEARCH, json=body, headers=scene.tenant.headers)
    assert r.status_code == 200, r.text
    assert [i["transaction_id"] for i in r.json()["payload"]["items"]] == [
        scene.calls["out_binh_auto"]
    ]


async def test_search_refuses_an_object_that_is_not_an_array(
    client: httpx.AsyncClient, scene: Scene
) -> None:
    body = {**scene.window, "user_uuids": {"agent": "202"}}
    r = await client.post(SEARCH, json=body, headers=scene.tenant.headers)
    assert r.status_code == 400, r.text
    assert r.json()["payload"] == [{"field": "user_uuids", "code": "must_be_a_list_of_strings"}]


async def test_another_tenants_calls_stay_out_whatever_the_spelling(
    client: httpx.AsyncClient, engine: AsyncEngine, scene: Scene
) -> None:
    other = await make_tenant(engine, "clients-other")
    query = php_http_build_query({**scene.window, "agents": [scene.ana.email]})
    r = await client.get(f"{LIST}?{query}", headers=other.headers)
    assert r.status_code == 200, r.text
    assert r.json()["payload"]["items"] == []
