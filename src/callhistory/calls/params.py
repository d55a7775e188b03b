"""Reading the contract's parameters: arrays in three spellings, the date window, paging."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import orjson
from starlette.datastructures import QueryParams

from callhistory.calls.quality import quality_filters
from callhistory.calls.values import number, parse_bool
from callhistory.envelope import ApiError, validation_error
from callhistory.phones import national

DIRECTIONS = ("inbound", "outbound", "local")
DISPOSITIONS = ("answered", "cancelled")
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MAX_ARRAY = 200
MAX_KEYWORD = 100
# Each endpoint's array parameters: these, and only these, may be spelt with brackets.
LIST_ARRAYS = (
    "direction",
    "disposition",
    "agents",
    "user_uuids",
    "sip_user",
    "sip_numbers",
    "queue_destination",
    "is_auto_call",
    "hangup_cause",
)
REPORT_ARRAYS = ("numbers", "sip_user", "agents", "hangup_cause")


# `x`, `x[]` (PHP, qs "brackets") and `x[0]`, `x[1]`… (PHP's http_build_query, qs's default).
_ARRAY_KEY = re.compile(r"^(?P<name>[^\[\]]+)\[(?P<index>\d*)\]$")


def array_name(key: str) -> str | None:
    """The parameter a bracketed key spells (`agents[0]` → agents), None when not bracketed."""
    match = _ARRAY_KEY.match(key)
    return match["name"] if match else None


def check_brackets(params: QueryParams, arrays: Iterable[str]) -> None:
    """A bracketed key that is none of the endpoint's arrays (`agent[]`, `from_date[]`,
    `agents[a][b]`) is a misspelling: a 400, never a silently unfiltered answer."""
    known = frozenset(arrays)
    for key in params:
        if "[" not in key and "]" not in key:
            continue  # unknown plain keys (cache busters such as `_=…`) are tolerated
        if array_name(key) not in known:
            raise ApiError(400, "unknown_parameter", [{"field": key, "code": "unknown_parameter"}])


def query_array(params: QueryParams, name: str) -> list[str]:
    """`a=x&a=y`, `a[]=x&a[]=y`, `a[0]=x&a[1]=y`, `a=x,y` and `a=["x","y"]` all give
    ['x', 'y']."""
    values: list[str] = []
    for key, raw in params.multi_items():
        if key == name or array_name(key) == name:
            values.extend(_split(raw))
    return _bounded(name, [v for v in values if v])


def _split(raw: str) -> list[str]:
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):  # a JSON array some clients send
        try:
            decoded = orjson.loads(text)
        except orjson.JSONDecodeError:
            decoded = None
        if isinstance(decoded, list) and all(isinstance(v, str | int) for v in decoded):
            return [str(v).strip() for v in decoded if not isinstance(v, bool)]
    return [part.strip() for part in raw.split(",")]


def body_array(body: Mapping[str, Any], name: str) -> list[str]:
    """A JSON list, a comma-separated string, or the object PHP's json_encode makes of an
    array whose keys are no longer 0..n-1 (`{"1": "a", "3": "b"}`)."""
    raw = body.get(name)
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = raw.split(",")
    if isinstance(raw, dict) and all(isinstance(k, str) and k.isdigit() for k in raw):
        raw = [raw[k] for k in sorted(raw, key=int)]
    if not isinstance(raw, list) or not all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in raw
    ):
        raise validation_error(name, "must_be_a_list_of_strings")
    return _bounded(name, [str(v).strip() for v in raw if str(v).strip()])


def _bounded(name: str, values: list[str]) -> list[str]:
    if len(values) > MAX_ARRAY:
        raise validation_error(name, "too_many_values")
    return list(dict.fromkeys(values))


def choices(name: str, values: Iterable[str], allowed: tuple[str, ...]) -> list[str]:
    picked = [v.lower() for v in values]
    if any(v not in allowed for v in picked):
        raise validation_error(name, "invalid_choice")
    return picked


_LAST_MS = 253_402_300_799_999  # the end of year 9999: beyond it is not a date


def epoch_ms(raw: Any, bound: Literal["from", "to"]) -> int:
    """Epoch milliseconds from an integer, an integral float (`time.time() * 1000`) or a
    numeric string. A fraction of a millisecond is kept in meaning, not refused: the
    window is inclusive and calls are stamped in whole milliseconds, so `from` rounds up
    and `to` rounds down, which selects exactly the calls the fractional bound does."""
    return _rounded(_checked_ms(raw), bound)


def _checked_ms(raw: Any) -> Decimal:
    value = number(raw)
    if value is None or value < 0 or value > _LAST_MS:
        raise ApiError(400, "date_invalid")
    return value


def _rounded(value: Decimal, bound: Literal["from", "to"]) -> int:
    return math.ceil(value) if bound == "from" else math.floor(value)


def date_window(
    raw_from: Any, raw_to: Any, max_days: int, default_days: int | None = None
) -> tuple[int, int]:
    """The inclusive [from, to] window in epoch ms, checked as the source's errors say.

    With `default_days`, a request that gives neither end covers the last that many days.
    """
    if raw_from in (None, "") and raw_to in (None, "") and default_days is not None:
        now = int(time.time() * 1000)
        return now - default_days * DAY_MS, now
    if raw_from in (None, ""):
        raise ApiError(400, "from_date_is_required")
    if raw_to in (None, ""):
        raise ApiError(400, "to_date_is_required")
    exact_from, exact_to = _checked_ms(raw_from), _checked_ms(raw_to)
    if exact_from > exact_to:
        raise ApiError(400, "date_invalid")
    start, end = _rounded(exact_from, "from"), _rounded(exact_to, "to")
    if end - start > max_days * DAY_MS:
        raise ApiError(400, "date_is_too_long")
    return start, end


def positive_int(name: str, raw: Any, default: int) -> int:
    """A positive integer, also as `2.0` or `"2"` (how PHP and JavaScript send numbers)."""
    if raw in (None, ""):
        return default
    value = number(raw)
    if value is None or value != value.to_integral_value():
        raise validation_error(name, "must_be_a_positive_integer")
    if value < 1 or value > 1_000_000:
        raise validation_error(name, "must_be_a_positive_integer")
    return int(value)


@dataclass(frozen=True)
class Paging:
    page: int
    size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def paging(raw_page: Any, raw_size: Any, max_size: int) -> Paging:
    page = positive_int("page", raw_page, 1)
    size = min(positive_int("size", raw_size, max_size), max_size)
    return Paging(page, size)


def page_info(paging: Paging, total: int, is_estimate: bool = False) -> dict[str, Any]:
    """The source's paging maths: page 1 of 943 at size 50 gives 19 pages, next 2, previous 1.

    `total_is_estimate` (our addition) is there only when true: clients that refuse
    unknown fields (Jackson's default) keep reading every exact answer.
    """
    total_pages = math.ceil(total / paging.size) if total else 0
    has_next = paging.page < total_pages
    has_previous = paging.page > 1
    return {
        "page_number": paging.page,
        "page_size": paging.size,
        "total_items": total,
        "total_pages": total_pages,
        "has_next": has_next,
        "next_page": paging.page + 1 if has_next else paging.page,
        "has_previous": has_previous,
        "previous_page": paging.page - 1 if has_previous else 1,
    } | ({"total_is_estimate": True} if is_estimate else {})


def camel_page_info(info: dict[str, Any]) -> dict[str, Any]:
    def camel(key: str) -> str:
        head, *rest = key.split("_")
        return head + "".join(word.title() for word in rest)

    return {camel(key): value for key, value in info.items()}


@dataclass(frozen=True)
class CallFilter:
    """Every filter the list, search and report endpoints take, already validated."""

    from_ms: int
    to_ms: int
    directions: list[str] = field(default_factory=list)
    dispositions: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)  # emails
    user_uuids: list[str] = field(default_factory=list)  # user ids, user codes or extensions
    sip_users: list[str] = field(default_factory=list)
    hotlines: list[str] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)
    tag_ids: list[str] = field(default_factory=list)
    is_auto_call: bool | None = None
    keyword: str | None = None
    # an agent's key: only the calls this email took part in ("" none; see auth.keys)
    agent_scope: str | None = None
    # the call-quality filters (calls.quality)
    min_duration: int | None = None
    max_duration: int | None = None
    hangup_causes: list[str] = field(default_factory=list)
    has_recording: bool | None = None
    min_mos: float | None = None
    max_mos: float | None = None


def list_filter(
    array: Callable[[str], list[str]],
    value: Callable[[str], Any],
    max_days: int,
    *,
    with_tags: bool = False,
) -> CallFilter:
    """The list endpoint's filters, read through `array` and `value` from a query string
    or a JSON body, and checked in the same order wherever they come from."""
    start, end = date_window(value("from_date"), value("to_date"), max_days)
    return CallFilter(
        from_ms=start,
        to_ms=end,
        directions=choices("direction", array("direction"), DIRECTIONS),
        dispositions=choices("disposition", array("disposition"), DISPOSITIONS),
        agents=emails(array("agents")),
        user_uuids=array("user_uuids"),
        sip_users=array("sip_user"),
        hotlines=hotline_numbers(array("sip_numbers")),
        queues=array("queue_destination"),
        tag_ids=array("tags") if with_tags else [],
        is_auto_call=auto_call(array, value),
        keyword=keyword(value("keyword")),
        **quality_filters(array, value),
    )


def auto_call(array: Callable[[str], list[str]], value: Callable[[str], Any]) -> bool | None:
    """`is_auto_call` as one value or as an array (`is_auto_call[]=true`): true and false
    together ask for both, as absent does."""
    single = value("is_auto_call")
    if isinstance(single, bool | int | float):  # a JSON body's true, false, 1 or 0
        return parse_bool("is_auto_call", single)
    picked = {parse_bool("is_auto_call", v) for v in array("is_auto_call")} - {None}
    return picked.pop() if len(picked) == 1 else None


def keyword(raw: Any) -> str | None:
    if raw is None:
        return None
    text = str(raw).strip()
    if len(text) > MAX_KEYWORD:
        raise validation_error("keyword", "too_long")
    return text or None


def hotline_numbers(values: list[str]) -> list[str]:
    return [national(v) for v in values]


def emails(values: list[str]) -> list[str]:
    return [v.lower() for v in values]


def whole_hours(f: CallFilter) -> tuple[int, int] | None:
    """[first, end) of the whole UTC hours inside the window, if there is one (what the
    hourly totals and rollups answer; the rest is counted from the calls)."""
    first = -(-f.from_ms // HOUR_MS) * HOUR_MS
    end = (f.to_ms + 1) // HOUR_MS * HOUR_MS
    return (first, end) if end > first else None
