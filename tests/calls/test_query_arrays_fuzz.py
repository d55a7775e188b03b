"""List filters given as arrays in a query string (`x=a&x=b`, `x[]=a&x[]=b`,
`x[0]=a&x[1]=b`, `x=a,b`, and any mix), fuzzed: the spellings are one filter, and
whatever the query string holds, the endpoints that read arrays answer a page (200)
or a 400 with a stable code and `{field, code}` problems, never a 500."""

from __future__ import annotations

import string
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import QueryParams

from callhistory.calls.params import MAX_ARRAY, query_array
from callhistory.envelope import ApiError
from tests.factories import DAY_MS, Tenant, add_call, make_tenant, now_ms

LIST = "/api/call_transaction/list"
REPORT = "/api/call_transaction/report"
EVALUATIONS = "/api/evaluations/report"
ARRAYS = (
    "direction",
    "disposition",
    "agents",
    "user_uuids",
    "sip_user",
    "sip_numbers",
    "queue_destination",
    "numbers",
    "hangup_cause",
)
QUALITY = ("min_duration", "max_duration", "has_recording", "min_mos", "max_mos")
SCALARS = ("from_date", "to_date", "page", "size", "keyword", "is_auto_call", *QUALITY)
DATE_CODES = frozenset(
    {"from_date_is_required", "to_date_is_required", "date_invalid", "date_is_too_long"}
)
PROBLEM_CODES = frozenset(
    {
        "invalid_choice",  # direction, disposition
        "too_many_values",  # any array
        "must_be_true_or_false",  # is_auto_call
        "too_long",  # keyword
        "must_be_a_positive_integer",  # page, size
        "nul_byte",  # anywhere in the query
        "invalid_hangup_cause",
        "must_be_a_non_negative_integer",  # min_duration, max_duration
        "must_be_a_number_from_1_to_5",  # min_mos, max_mos
        "greater_than_max_duration",
        "greater_than_max_mos",
    }
)
PROBLEM_FIELDS = frozenset({*ARRAYS, *SCALARS, "query"})

# ---- the parser itself -------------------------------------------------------------------

# One element of an array: anything but a comma (which separates), trimmed, not empty.
ELEMENT = (
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters=",\x00"), max_size=12)
    .map(str.strip)
    .filter(bool)
)
NAME = st.sampled_from(ARRAYS)


@st.composite
def spelled(draw: st.DrawFn, name: str, values: list[str]) -> list[tuple[str, str]]:
    """The values in runs, each run spelled its own way, as clients mix them."""
    pairs: list[tuple[str, str]] = []
    rest = list(values)
    while rest:
        cut = draw(st.integers(1, len(rest)))
        run, rest = rest[:cut], rest[cut:]
        how = draw(st.sampled_from(["repeated", "brackets", "indexed", "comma", "comma-brackets"]))
        key = f"{name}[]" if how in ("brackets", "comma-brackets") else name
        if how.startswith("comma"):
            padding = draw(st.sampled_from(["", " "]))
            pairs.append((key, f",{padding}".join(run)))
        elif how == "indexed":  # PHP's http_build_query, qs's default
            start = len(pairs)
            pairs += [(f"{name}[{start + i}]", value) for i, value in enumerate(run)]
        else:
            pairs += [(key, value) for value in run]
    return pairs


@settings(max_examples=200, deadline=None)
@given(NAME, st.lists(ELEMENT, max_size=12), st.data())
def test_every_spelling_is_the_same_filter(
    name: str, values: list[str], data: st.DataObject
) -> None:
    expected = list(dict.fromkeys(values))  # in order, each once
    for how in ("repeated", "brackets", "indexed", "comma"):
        if how == "comma":
            pairs = [(name, ",".join(values))] if values else []
        elif how == "indexed":
            pairs = [(f"{name}[{i}]", value) for i, value in enumerate(values)]
        else:
            key = name if how == "repeated" else f"{name}[]"
            pairs = [(key, value) for value in values]
        assert query_array(QueryParams(pairs), name) == expected
    mixed = data.draw(spelled(name, values))
    others = data.draw(st.lists(st.tuples(st.sampled_from(ARRAYS), ELEMENT), max_size=4))
    others = [(key, value) for key, value in others if key != name]
    assert query_array(QueryParams(others + mixed), name) == expected


@given(NAME, st.integers(MAX_ARRAY + 1, MAX_ARRAY + 20))
def test_too_many_values_is_a_stable_400(name: str, count: int) -> None:
    values = [str(i) for i in range(count)]
    with pytest.raises(ApiError) as refused:
        query_array(QueryParams([(name, ",".join(values))]), name)
    assert (refused.value.status, refused.value.code) == (400, "validation_error")
    assert refused.value.payload == [{"field": name, "code": "too_many_values"}]
    assert (
        query_array(QueryParams([(name, ",".join(values[:MAX_ARRAY]))]), name)
        == (values[:MAX_ARRAY])
    )


# ---- any query string, through the app --------------------------------------------------

PRINTABLE = string.ascii_letters + string.digits + string.punctuation + " "
KEYS = st.one_of(
    st.sampled_from(ARRAYS).flatmap(lambda n: st.sampled_from([n, f"{n}[]", f"{n}[0]"])),
    st.sampled_from(SCALARS),
    st.text(alphabet=PRINTABLE, max_size=6),
)
VALUES = st.one_of(
    st.sampled_from(
        [
            "inbound",
            "OUTBOUND",
            "Local",
            "answered",
            "cancelled",
            "inbound,local",
            "inbound, ,local",
            ",",
            ",,",
            "",
            " ",
            "[]",
            "true",
            "no",
            "null",
            "-1",
            "0",
            "1e3",
            "9" * 30,
            "x" * 120,
            "+84 912 345 678",
            "(+84) 912.345.678",
            "%FF",
            "%00",
            "%2C",
            "%5B%5D",
            "%zz",
            "%",
            "ａｂｃ",
            "Nguyễn Văn A",
        ]
    ),
    st.text(max_size=12),
    st.integers(-(10**16), 10**16).map(str),
    st.integers(MAX_ARRAY - 3, MAX_ARRAY + 3).map(lambda n: ",".join(["v"] * n)),
)


@st.composite
def query_strings(draw: st.DrawFn) -> bytes:
    """An ASCII query string (what reaches the server): pieces percent-encoded, or not."""
    pieces: list[str] = []
    if draw(st.integers(0, 3)):  # mostly a good window, so the arrays are read
        now = now_ms()
        pieces += [f"from_date={now - 7 * DAY_MS}", f"to_date={now}"]
    for _ in range(draw(st.integers(0, 8))):
        safe = draw(st.sampled_from(["", ",[]", ",[]% "]))
        key, value = draw(KEYS), draw(VALUES)
        piece = quote(key, safe=safe) + ("" if draw(st.integers(0, 9)) == 0 else "=")
        pieces.append(piece + quote(value, safe=safe))
    pieces = draw(st.permutations(pieces))
    joined = draw(st.sampled_from(["&", "&&", ";"])).join(pieces)
    return joined.encode("ascii", errors="ignore")


@pytest.fixture(scope="module")
async def tenant(engine: AsyncEngine) -> Tenant:
    """A tenant with one call of each direction, in the window the queries ask about."""
    tenant = await make_tenant(engine, "arrays")
    for direction, disposition in (
        ("inbound", "answered"),
        ("outbound", "cancelled"),
        ("local", "answered"),
    ):
        await add_call(
            engine,
            tenant,
            direction=direction,
            disposition=disposition,
            created_date=now_ms() - DAY_MS,
        )
    return tenant


def _assert_filter_or_stable_400(r: httpx.Response) -> None:
    assert r.status_code in (200, 400), r.text
    body = r.json()
    event(f"{r.status_code} {body.get('message', '')}")
    assert {"status_code", "payload", "instance_version"} <= set(body)
    if r.status_code == 200:
        assert body["status_code"] == 9999
        return
    assert body["status_code"] == -9999
    assert body["message"] in DATE_CODES | {"validation_error", "unknown_parameter"}, body
    if body["message"] == "unknown_parameter":  # a bracketed key that is no array of ours
        [problem] = body["payload"]
        assert problem["code"] == "unknown_parameter", body
        assert "[" in problem["field"] or "]" in problem["field"], body
    elif body["message"] == "validation_error":
        assert body["payload"], body
        for problem in body["payload"]:
            assert problem["field"] in PROBLEM_FIELDS, body
            assert problem["code"] in PROBLEM_CODES, body
    else:
        assert body["payload"] is None


RUNS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@RUNS
@given(st.sampled_from([LIST, REPORT, EVALUATIONS]), query_strings())
@example(LIST, b"from_date=0&to_date=1&direction[]=inbound&direction=LOCAL,,%20outbound")
@example(LIST, b"from_date=0&to_date=1&direction=%00")
@example(LIST, b"from_date=0&to_date=1&sip_numbers=" + b",".join([b"1"] * (MAX_ARRAY + 1)))
@example(REPORT, b"numbers[]=%FF&agents=%zz&sip_user[]=")
async def test_any_query_string_is_a_filter_or_a_stable_400(
    client: httpx.AsyncClient, tenant: Tenant, path: str, query: bytes
) -> None:
    url = httpx.URL(f"http://test{path}", query=query)
    _assert_filter_or_stable_400(await client.get(url, headers=tenant.headers))


@RUNS
@given(
    st.lists(st.sampled_from(["inbound", "outbound", "local"]), max_size=5),
    st.lists(st.sampled_from(["answered", "cancelled"]), max_size=3),
    st.data(),
)
async def test_the_spellings_give_the_same_calls(
    client: httpx.AsyncClient,
    tenant: Tenant,
    directions: list[str],
    dispositions: list[str],
    data: st.DataObject,
) -> None:
    cased = [data.draw(st.sampled_from([d, d.upper(), d.title()])) for d in directions]
    now = now_ms()
    window = [("from_date", str(now - 7 * DAY_MS)), ("to_date", str(now))]
    params = (
        window
        + data.draw(spelled("direction", cased))
        + data.draw(spelled("disposition", dispositions))
    )
    r = await client.get(LIST, params=params, headers=tenant.headers)
    assert r.status_code == 200, r.text
    calls = {("inbound", "answered"), ("outbound", "cancelled"), ("local", "answered")}
    expected = {
        (direction, disposition)
        for direction, disposition in calls
        if (not directions or direction in directions)
        and (not dispositions or disposition in dispositions)
    }
    shown = {(i["direction"], i["disposition"]) for i in r.json()["payload"]["items"]}
    assert shown == expected
