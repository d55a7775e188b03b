"""The list and report endpoints, checked against a plain in-memory model of the same rows.

One seeded set of calls is written per backend (module-scoped fixture); Hypothesis then
draws filter combinations, and every answer must equal what the model below computes.
The model is written from the contract, not from the SQL: a call matches when it is not
deleted, its `created_date` is inside the inclusive window, and every given filter holds.
Order is newest first (`created_date` desc, then `transaction_id` desc).

`keyword`: each whitespace-separated word, folded (lower case, no diacritics, đ -> d), must
be a substring of one of the call's texts: the source and destination numbers in each of
their written forms (digits, 0… national, 84… international), the customer's name, the
agents' names, the note, the tags. A word that looks like a number is matched by its
digits, and so is the whole keyword when it looks like one number ('+84 912 345'). A call
also matches when the whole keyword, lower-cased, is a prefix of its transaction id.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import DAY_MS, Agent, Tenant, add_agent, add_call, make_tenant, now_ms

LIST = "/api/call_transaction/list"
REPORT = "/api/call_transaction/report"
MAX_PAGE_SIZE = 50
DIRECTIONS = ("inbound", "outbound", "local")
DISPOSITIONS = ("answered", "cancelled")
Pairs = list[tuple[str, str | int | float | bool | None]]  # query parameters, in order

# --- the dataset, as plain values (built once at import, so strategies can draw from it) ---


@dataclass(frozen=True)
class AgentSpec:
    full_name: str
    sip_user: str
    email: str

    @property
    def user_uuid(self) -> str:
        return f"NV{self.sip_user}"  # what tests.factories.add_agent gives


AGENTS = (
    AgentSpec("Trần Văn Tiến", "101", "tien.tran@acme.vn"),
    AgentSpec("Đặng Thị Hương", "102", "huong.dang@acme.vn"),
    AgentSpec("Nguyễn Thị Ánh Tuyết", "103", "tuyet.nguyen@acme.vn"),
    AgentSpec("Lê Đức Anh", "104", "anh.le@acme.vn"),
    AgentSpec("Phạm Quốc Bảo", "105", "bao.pham@acme.vn"),
    AgentSpec("Võ Thị Ngọc Diệp", "106", "diep.vo@acme.vn"),
)
LOOSE_EXTENSION = "109"  # rings on calls that have no agent record
CUSTOMERS = (
    "Nguyễn Văn An",
    "Hoàng Thị Đào",
    "Bùi Minh Đức",
    "Trịnh Công Sơn",
    "Phan Thị Mỹ Linh",
    "Công ty TNHH Đông Á",
)
NOTES = (
    "Khách gọi lại sau 15 phút",
    "Hỏi giá gói cước",
    "Khiếu nại đơn hàng #1234",
    "đã xử lý xong",
    "Ưu đãi 50% giảm giá_tháng 6",
    "Hẹn demo thứ Năm",
)
TAGS = ("gọi lại sau", "VIP", "Khiếu nại", "spam", "Đơn hàng")
MOBILES = ("0912345678", "0987654321", "0356789012", "0903111222", "0768123456", "0328456456")
HOTLINES = ("02873001234", "0901234567", "19001234")
QUEUES = ("8001", "8002")


@dataclass(frozen=True)
class CallSpec:
    transaction_id: str
    created_date: int
    direction: str
    disposition: str
    source_number: str
    destination_number: str
    hotline: str | None  # as written on the call; the store keeps its national form
    queue_destination: str | None
    is_auto_call: bool
    sip_user: str | None
    agents: tuple[int, ...]  # indices into AGENTS
    customer_name: str | None
    note: str | None
    tags: tuple[str, ...]
    bill_sec: int
    is_deleted: bool


def _written(number: str, rng: random.Random) -> str:
    """A national number as a PBX may write it: 0… or 84…."""
    return number if rng.random() < 0.6 else "84" + number[1:]


def _dataset(seed: int, n: int, base: int) -> tuple[CallSpec, ...]:
    rng = random.Random(seed)
    calls: list[CallSpec] = []
    for i in range(n):
        if calls and rng.random() < 0.18:  # same instant as an earlier call: tie-break by id
            created = rng.choice(calls).created_date
        else:
            created = base + rng.randrange(20 * DAY_MS // 1000) * 1000
        if i % 23 in (5, 11):  # `cdr_2024` must not find `cdr-2024`: `_` is no wildcard
            transaction_id = f"cdr{'_-'[i % 2]}2024{'_-'[i % 2]}{i:04d}"
        else:
            transaction_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        direction = rng.choices(DIRECTIONS, weights=(5, 3, 1))[0]
        disposition = "answered" if rng.random() < 0.65 else "cancelled"
        customer = _written(rng.choice(MOBILES), rng)
        hotline_number = rng.choice(HOTLINES)
        hotline: str | None = None
        queue = None
        auto = False
        if direction == "inbound":
            hotline = (
                hotline_number if hotline_number.startswith("1") else _written(hotline_number, rng)
            )
            source, destination = customer, hotline
            queue = rng.choice((*QUEUES, None))
            count = rng.choice((0, 1, 1, 1, 2)) if disposition == "answered" else rng.choice((0, 1))
        elif direction == "outbound":
            hotline = (
                hotline_number if hotline_number.startswith("1") else _written(hotline_number, rng)
            )
            source, destination = hotline, customer
            auto = rng.random() < 0.4
            count = 1
        else:
            count = 2
        on_call = tuple(rng.sample(range(len(AGENTS)), count))
        if direction == "local":
            source, destination = (AGENTS[k].sip_user for k in on_call)
        if on_call:
            sip_user: str | None = AGENTS[on_call[0]].sip_user
        else:
            sip_user = LOOSE_EXTENSION if rng.random() < 0.3 else None
        calls.append(
            CallSpec(
                transaction_id=transaction_id,
                created_date=created,
                direction=direction,
                disposition=disposition,
                source_number=source,
                destination_number=destination,
                hotline=hotline,
                queue_destination=queue,
                is_auto_call=auto,
                sip_user=sip_user,
                agents=on_call,
                customer_name=rng.choice((*CUSTOMERS, None, None))
                if direction != "local"
                else None,
                note=rng.choice((*NOTES, None, None, None)),
                tags=tuple(rng.sample(TAGS, rng.choice((0, 0, 1, 1, 2)))),
                bill_sec=rng.randint(1, 900) if disposition == "answered" else 0,
                is_deleted=rng.random() < 0.04,
            )
        )
    return tuple(calls)


BASE_MS = (now_ms() // 1000 - 21 * 86_400) * 1000  # the calls span [BASE, BASE + 20 days)
CALLS = _dataset(20240601, 180, BASE_MS)
LIVE = tuple(c for c in CALLS if not c.is_deleted)
DATES = sorted({c.created_date for c in CALLS})


# --- the model ---------------------------------------------------------------------------

_NUMBERISH = re.compile(r"^\(?\+?[\d\s.\-()]+$")  # also (+84) 912…


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isascii() and ch.isdigit())


def _national(raw: str) -> str:
    d = _digits(raw)
    if d.startswith("84") and len(d) >= 10:
        return "0" + d[2:]
    if d.startswith("0084") and len(d) >= 12:
        return "0" + d[4:]
    return d


def _number_forms(raw: str) -> set[str]:
    national = _national(raw)
    forms = {_digits(raw), national}
    if national.startswith("0") and len(national) >= 9:
        forms.add("84" + national[1:])
    return {f for f in forms if f}


def _fold(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "d")
    bare = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    return " ".join(bare.lower().split())


def _is_number(text: str) -> bool:
    return bool(_NUMBERISH.match(text.strip())) and len(_digits(text)) >= 2


def _texts(call: CallSpec) -> list[str]:
    found = [*_number_forms(call.source_number), *_number_forms(call.destination_number)]
    words = [call.customer_name, call.note, *call.tags, *(AGENTS[k].full_name for k in call.agents)]
    return found + [_fold(w) for w in words if w]


def keyword_matches(call: CallSpec, keyword: str) -> bool:
    keyword = keyword.strip()
    if call.transaction_id.startswith(keyword.lower()):
        return True
    if _is_number(keyword):
        words = [_digits(keyword)]
    else:
        words = [_digits(w) if _is_number(w) else _fold(w) for w in keyword.split()]
    words = [w for w in words if w]
    if not words:  # nothing left to look for: only the id prefix can match
        return False
    texts = _texts(call)
    return all(any(w in t for t in texts) for w in words)


@dataclass(frozen=True)
class ListQuery:
    from_ms: int
    to_ms: int
    directions: list[str] = field(default_factory=list)
    dispositions: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    user_uuids: list[str] = field(default_factory=list)
    sip_users: list[str] = field(default_factory=list)
    sip_numbers: list[str] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)
    is_auto_call: bool | None = None
    is_auto_call_text: str | None = None
    keyword: str | None = None
    page: int | None = None
    size: int | None = None
    spellings: dict[str, str] = field(default_factory=dict)

    def matches(self, c: CallSpec) -> bool:
        emails = {e.lower() for e in self.agents}
        hotlines = {_national(n) for n in self.sip_numbers}
        people = {AGENTS[k].user_uuid for k in c.agents} | {AGENTS[k].sip_user for k in c.agents}
        return (
            not c.is_deleted
            and self.from_ms <= c.created_date <= self.to_ms
            and (not self.directions or c.direction in {d.lower() for d in self.directions})
            and (not self.dispositions or c.disposition in {d.lower() for d in self.dispositions})
            and (not emails or any(AGENTS[k].email in emails for k in c.agents))
            and (
                not self.user_uuids
                or c.sip_user in self.user_uuids
                or bool(people & set(self.user_uuids))
            )
            and (not self.sip_users or c.sip_user in self.sip_users)
            and (not hotlines or (c.hotline is not None and _national(c.hotline) in hotlines))
            and (not self.queues or c.queue_destination in self.queues)
            and (self.is_auto_call is None or c.is_auto_call is self.is_auto_call)
            and (not self.keyword or not self.keyword.strip() or keyword_matches(c, self.keyword))
        )

    def expected(self) -> list[CallSpec]:
        found = [c for c in CALLS if self.matches(c)]
        return sorted(found, key=lambda c: (c.created_date, c.transaction_id), reverse=True)

    def params(self) -> Pairs:
        out: Pairs = [
            ("from_date", str(self.from_ms)),
            ("to_date", str(self.to_ms)),
        ]
        arrays = {
            "direction": self.directions,
            "disposition": self.dispositions,
            "agents": self.agents,
            "user_uuids": self.user_uuids,
            "sip_user": self.sip_users,
            "sip_numbers": self.sip_numbers,
            "queue_destination": self.queues,
        }
        for name, values in arrays.items():
            out += spelled(name, values, self.spellings.get(name, "repeat"))
        if self.is_auto_call_text is not None:
            out.append(("is_auto_call", self.is_auto_call_text))
        if self.keyword is not None:
            out.append(("keyword", self.keyword))
        if self.page is not None:
            out.append(("page", str(self.page)))
        if self.size is not None:
            out.append(("size", str(self.size)))
        return out


def spelled(name: str, values: list[str], spelling: str) -> Pairs:
    """The contract's three spellings of an array parameter."""
    if not values:
        return []
    if spelling == "comma":
        return [(name, ",".join(values))]
    key = f"{name}[]" if spelling == "brackets" else name
    return [(key, v) for v in values]


def expected_report(rows: list[CallSpec]) -> dict[str, Any]:
    count = Counter(c.direction for c in rows)
    seconds: Counter[str] = Counter()
    for c in rows:
        seconds[c.direction] += c.bill_sec
    pairs = Counter((c.disposition, c.direction) for c in rows)
    return {
        "categorized_by_direction": [
            {"_id": d, "total_count": count[d], "total_time": seconds[d]}
            for d in ("inbound", "outbound")
        ],
        "categorized_by_disposition": [
            {
                "_id": s,
                "total_count": pairs[(s, "inbound")] + pairs[(s, "outbound")],
                "total_outbound": pairs[(s, "outbound")],
                "total_inbound": pairs[(s, "inbound")],
            }
            for s in ("cancelled", "answered")
        ],
        "categorized_by_local_direction": {
            "total_call": count["local"],
            "total_call_answer": pairs[("answered", "local")],
        },
    }


# --- strategies --------------------------------------------------------------------------

CASES: tuple[Callable[[str], str], ...] = (str, str.lower, str.upper, str.title, str.swapcase)
SPELLINGS = st.sampled_from(("repeat", "brackets", "comma"))


def _unmarked(text: str) -> str:
    """Diacritics off, case kept: what a user types without a Vietnamese keyboard."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))


@st.composite
def _fragment(draw: st.DrawFn, texts: tuple[str, ...]) -> str:
    """A piece of one of the texts, in some case, with or without diacritics."""
    text = draw(st.sampled_from(texts))
    start = draw(st.integers(0, len(text) - 1))
    end = draw(st.integers(start + 1, len(text)))
    piece = draw(st.sampled_from(CASES))(text[start:end])
    return _unmarked(piece) if draw(st.booleans()) else piece


@st.composite
def _number_fragment(draw: st.DrawFn) -> str:
    """Part of a number on some call, typed as 0…, 84… or +84…, maybe with separators."""
    call = draw(st.sampled_from(CALLS))
    number = draw(st.sampled_from((call.source_number, call.destination_number)))
    national = _national(number)
    international = "84" + national[1:] if national.startswith("0") and len(national) >= 9 else ""
    form = draw(st.sampled_from(("as-is", "0", "84", "+84")))
    digits = {"as-is": _digits(number), "0": national}.get(form) or international or national
    start = draw(st.one_of(st.just(0), st.integers(0, max(0, len(digits) - 2))))
    end = draw(st.integers(min(start + 2, len(digits)), len(digits)))
    piece = digits[start:end]
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(piece) - 1)), max_size=3)))
    separator = draw(st.sampled_from((" ", ".", "-")))
    pieces = [piece[a:b] for a, b in zip([0, *cuts], [*cuts, len(piece)], strict=True)]
    typed = separator.join(p for p in pieces if p)
    return "+" + typed if form == "+84" and start == 0 else typed


@st.composite
def _id_prefix(draw: st.DrawFn) -> str:
    call = draw(st.sampled_from(CALLS))
    prefix = call.transaction_id[: draw(st.integers(1, 14))]
    typings: tuple[Callable[[str], str], ...] = (str, str.upper, _wild_underscore, _wild_percent)
    return draw(st.sampled_from(typings))(prefix)


def _wild_underscore(prefix: str) -> str:
    return prefix.replace("-", "_")  # matches no id, unless `_` is taken as LIKE's wildcard


def _wild_percent(prefix: str) -> str:
    return prefix[:-1] + "%"  # likewise for `%`


_NAMES = tuple(a.full_name for a in AGENTS) + CUSTOMERS
_SINGLE = st.one_of(
    _fragment(_NAMES),
    _number_fragment(),
    _id_prefix(),
    _fragment(TAGS),
    _fragment(NOTES),
    _number_fragment(),
    _fragment(_NAMES),
    _id_prefix(),
    st.sampled_from(("50%", "giá_", "%", "_", "\\", "'", "#1234", "xyz", "0000", "  Tiến  ")),
    st.text(alphabet="abcdđeêghiklmnoôơpqrstuưvxyàáạảã0123456789 +-.", max_size=8),
)
KEYWORDS = st.one_of(
    _SINGLE,
    st.tuples(_SINGLE, _SINGLE).map(" ".join),
    # two numbers in one keyword: as a whole it is one number, not two words
    st.tuples(_number_fragment(), _number_fragment()).map(" ".join),
)


@st.composite
def _window(draw: st.DrawFn) -> tuple[int, int]:
    """Inside the data, often exactly on a call's `created_date`, or just beside one."""
    edges = st.sampled_from(DATES).flatmap(lambda d: st.sampled_from((d, d - 1, d + 1)))
    if draw(st.integers(0, 3)) == 0:
        return BASE_MS - DAY_MS, BASE_MS + 21 * DAY_MS
    a, b = draw(edges), draw(edges)
    return min(a, b), max(a, b)


def _maybe(draw: st.DrawFn, values: st.SearchStrategy[list[str]]) -> list[str]:
    """A filter given one time in four (an empty list shrinks to 'not given')."""
    return draw(values) if draw(st.integers(0, 3)) == 3 else []


def _some(options: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(options), min_size=1, max_size=3, unique=True)


@st.composite
def _hotline_typed(draw: st.DrawFn) -> str:
    number = draw(st.sampled_from((*HOTLINES, "02839998888")))
    if number.startswith("1"):
        return draw(
            st.sampled_from((number, f"{number[:4]} {number[4:]}", f"{number[:4]}.{number[4:]}"))
        )
    rest = number[1:]
    return draw(
        st.sampled_from(
            (number, "84" + rest, "+84" + rest, f"+84 {rest[:2]} {rest[2:6]} {rest[6:]}")
        )
    )


_EMAILS = (*(a.email for a in AGENTS), "nobody@acme.vn")
_PEOPLE = (*(a.user_uuid for a in AGENTS), *(a.sip_user for a in AGENTS), LOOSE_EXTENSION, "NV999")
_EXTENSIONS = (*(a.sip_user for a in AGENTS), LOOSE_EXTENSION, "999")
FILTERS = (
    "direction",
    "disposition",
    "agents",
    "user_uuids",
    "sip_user",
    "sip_numbers",
    "queue_destination",
    "is_auto_call",
    "keyword",
)
_AUTO = {
    True: ("true", "1", "yes", "TRUE"),
    False: ("false", "0", "no", "False"),
}


@st.composite
def list_queries(draw: st.DrawFn) -> ListQuery:
    """Mostly one filter alone (the sharpest check; keyword most often), else a mix."""
    focus = draw(st.one_of(st.none(), st.sampled_from(FILTERS), st.just("keyword")))

    def pick(name: str, values: st.SearchStrategy[list[str]]) -> list[str]:
        if focus is None:
            return _maybe(draw, values)
        return draw(values) if focus == name else []

    from_ms, to_ms = draw(_window())
    case = draw(st.sampled_from((str.lower, str.upper, str.title)))
    if focus is None:
        auto = draw(st.sampled_from((None, True, False)))
    else:
        auto = draw(st.booleans()) if focus == "is_auto_call" else None
    if focus is None:
        keyword = draw(KEYWORDS) if draw(st.integers(0, 2)) == 2 else None
    else:
        keyword = draw(KEYWORDS) if focus == "keyword" else None
    query = ListQuery(
        from_ms=from_ms,
        to_ms=to_ms,
        directions=[case(d) for d in pick("direction", _some(DIRECTIONS))],
        dispositions=[case(d) for d in pick("disposition", _some(DISPOSITIONS))],
        agents=[case(e) for e in pick("agents", _some(_EMAILS))],
        user_uuids=pick("user_uuids", _some(_PEOPLE)),
        sip_users=pick("sip_user", _some(_EXTENSIONS)),
        sip_numbers=pick("sip_numbers", st.lists(_hotline_typed(), min_size=1, max_size=3)),
        queues=pick("queue_destination", _some((*QUEUES, "8999"))),
        is_auto_call=auto,
        is_auto_call_text=None if auto is None else draw(st.sampled_from(_AUTO[auto])),
        keyword=keyword,
        spellings={name: draw(SPELLINGS) for name in FILTERS[:7]},
    )
    size = draw(st.one_of(st.none(), st.integers(1, 60)))
    pages = max(1, math.ceil(len(query.expected()) / min(size or MAX_PAGE_SIZE, MAX_PAGE_SIZE)))
    page = draw(st.one_of(st.none(), st.integers(1, pages + 1)))
    return replace(query, page=page, size=size)


# --- the tests ---------------------------------------------------------------------------


@dataclass
class World:
    tenant: Tenant
    agents: list[Agent]


@pytest.fixture(scope="module")
async def world(engine: AsyncEngine) -> World:
    tenant = await make_tenant(engine, "model")
    agents = [await add_agent(engine, tenant, a.full_name, a.sip_user, a.email) for a in AGENTS]
    for c in CALLS:
        await add_call(
            engine,
            tenant,
            transaction_id=c.transaction_id,
            created_date=c.created_date,
            direction=c.direction,
            disposition=c.disposition,
            source_number=c.source_number,
            destination_number=c.destination_number,
            # an erased call as calls.deletion leaves it: its agents and tags gone
            agents_on_call=[] if c.is_deleted else [agents[k] for k in c.agents],
            customer_name=c.customer_name,
            note=c.note,
            tags=[] if c.is_deleted else list(c.tags),
            hotline=c.hotline,
            bill_sec=c.bill_sec,
            queue_destination=c.queue_destination,
            is_auto_call=c.is_auto_call,
            sip_user=c.sip_user,
            is_deleted=c.is_deleted,
        )
    return World(tenant, agents)


def test_the_dataset_has_what_the_properties_need() -> None:
    dates = Counter(c.created_date for c in LIVE)
    assert sum(1 for n in dates.values() if n > 1) >= 10, "ties on created_date"
    assert any(c.is_deleted for c in CALLS)
    assert {c.direction for c in LIVE} == set(DIRECTIONS)
    assert any(c.sip_user == LOOSE_EXTENSION for c in LIVE)
    assert any(c.is_auto_call for c in LIVE)
    assert len(LIVE) > MAX_PAGE_SIZE * 2


RUNS = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
EVERYTHING = (BASE_MS - DAY_MS, BASE_MS + 21 * DAY_MS)
TIED = next(d for d, n in Counter(c.created_date for c in LIVE).items() if n > 1)


def _everything(**filters: Any) -> ListQuery:
    return ListQuery(*EVERYTHING, **filters)


@RUNS
@given(query=list_queries())
# the edges, every run: wildcards typed as text, each written form of a number, ties
@example(query=_everything(keyword="cdr_2024"))
@example(query=_everything(keyword="cdr-2024"))
@example(query=_everything(keyword="%"))
@example(query=_everything(keyword="_"))
@example(query=_everything(keyword="50%"))
@example(query=_everything(keyword="+84 912 345"))
@example(query=_everything(keyword="8491234"))
@example(query=_everything(keyword="84 28 7300"))
@example(query=_everything(keyword="0987.654"))
@example(query=_everything(keyword="tien 0912"))
@example(query=_everything(keyword="ĐẶNG hương"))
@example(query=_everything(keyword="dang huong"))
@example(query=_everything(keyword="GOI LAI"))
@example(query=_everything(user_uuids=[LOOSE_EXTENSION]))
@example(query=_everything(user_uuids=["NV101", "102"]))
@example(query=_everything(sip_numbers=["+84 28 7300 1234"], spellings={"sip_numbers": "comma"}))
@example(query=_everything(size=60, page=2))
@example(query=ListQuery(TIED, TIED))
@example(query=ListQuery(TIED + 1, TIED + 1))
async def test_list_agrees_with_the_model(
    client: httpx.AsyncClient, world: World, query: ListQuery
) -> None:
    r = await client.get(LIST, params=query.params(), headers=world.tenant.headers)
    assert r.status_code == 200, r.text
    body = r.json()["payload"]

    expected = query.expected()
    event(
        "list: "
        + ("no match" if not expected else "1-50 matches" if len(expected) <= 50 else ">50")
    )
    size = min(query.size or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    page = query.page or 1
    total_pages = math.ceil(len(expected) / size)
    shown = expected[(page - 1) * size : page * size]
    assert [i["transaction_id"] for i in body["items"]] == [c.transaction_id for c in shown]
    assert {
        k: body[k] for k in ("page_number", "page_size", "total_items", "total_pages", "has_next")
    } == {
        "page_number": page,
        "page_size": size,
        "total_items": len(expected),
        "total_pages": total_pages,
        "has_next": page < total_pages,
    }
    assert body["has_previous"] is (page > 1)
    if body["has_next"]:
        assert body["next_page"] == page + 1
    if body["has_previous"]:
        assert body["previous_page"] == page - 1
    for item, call in zip(body["items"], shown, strict=True):
        assert item["created_date"] == call.created_date
        assert (item["direction"], item["disposition"]) == (call.direction, call.disposition)
        assert item["sip_user"] == (call.sip_user or "")
        assert item["bill_sec"] == call.bill_sec
        assert item["tag"] == list(call.tags)
        assert [u["full_name"] for u in item["user"]] == [AGENTS[k].full_name for k in call.agents]


@st.composite
def report_queries(draw: st.DrawFn) -> tuple[Pairs, list[CallSpec]]:
    """Report parameters, and the calls the report must total."""
    window = None if draw(st.integers(0, 4)) == 0 else draw(_window())
    numbers = _maybe(draw, st.lists(_hotline_typed(), min_size=1, max_size=3))
    extensions = _maybe(draw, _some(_EXTENSIONS))
    emails = [draw(st.sampled_from(CASES))(e) for e in _maybe(draw, _some(_EMAILS))]
    params: Pairs = []
    if window is not None:
        params += [("from_date", str(window[0])), ("to_date", str(window[1]))]
    params += spelled("numbers", numbers, draw(SPELLINGS))
    params += spelled("sip_user", extensions, draw(SPELLINGS))
    params += spelled("agents", emails, draw(SPELLINGS))
    low, high = window or (now_ms() - 30 * DAY_MS, now_ms())
    hotlines = {_national(n) for n in numbers}
    wanted = {e.lower() for e in emails}
    rows = [
        c
        for c in LIVE
        if low <= c.created_date <= high
        and (not hotlines or (c.hotline is not None and _national(c.hotline) in hotlines))
        and (not extensions or c.sip_user in extensions)
        and (not wanted or any(AGENTS[k].email in wanted for k in c.agents))
    ]
    return params, rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=report_queries())
async def test_report_agrees_with_the_model(
    client: httpx.AsyncClient, world: World, case: tuple[Pairs, list[CallSpec]]
) -> None:
    params, rows = case
    event("report: " + ("no match" if not rows else "some calls"))
    r = await client.get(REPORT, params=params, headers=world.tenant.headers)
    assert r.status_code == 200, r.text
    assert r.json()["payload"] == expected_report(rows)


async def test_a_separator_keyword_matches_only_what_the_model_says(
    client: httpx.AsyncClient, world: World
) -> None:
    query = _everything(keyword="|")
    r = await client.get(LIST, params=query.params(), headers=world.tenant.headers)
    assert r.status_code == 200, r.text
    assert r.json()["payload"]["total_items"] == len(query.expected()) == 0
