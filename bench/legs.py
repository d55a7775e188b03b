"""Many distinct, realistic FreeSWITCH calls, made from the mod_json_cdr documents in
tests/fixtures/freeswitch. They are read as text templates, so every shape they cover
(repeated `callflow` keys, URL-encoded values, B-legs found by `originating_leg_uuid`
or `cc_member_session_uuid`) is posted exactly as the module writes it.

Each generated call is one fixture call (its A-leg and B-legs) with new uuids, new times
(spread over the last days), its agents' extensions drawn from the directory's agents,
and its outside numbers replaced: some by known customers' numbers, the rest at random,
each keeping its carrier prefix and its written form (0…, 84…, +84…, %2B84…).
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from callhistory.ingest.formats.freeswitch import parse_document, parse_leg

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "freeswitch"
FIRST_EXTENSION = 101
TEMPLATE_EXTENSIONS = ("101", "102", "103", "104", "105")  # the fixtures' agents
CORE_UUID = "7d1e5b0c-5f1e-4f7b-9d38-1c2a3b4c5d6e"  # the switch's own, never a call's
# How often each fixture call happens in a call center's day (others weigh 1).
WEIGHTS = {
    "inbound-queue-answered": 30,
    "outbound-answered": 25,
    "outbound-no-answer": 12,
    "inbound-busy": 8,
    "inbound-voicemail": 5,
    "local-answered": 5,
    "transferred": 5,
    "auto-call-originate": 5,
}
CUSTOMER_SHARE = 0.6  # of outside numbers, those that belong to a known customer

# What a generated call changes, found once per template; the leftmost match wins, so
# the digits inside a uuid or a `*_uepoch` are never taken for anything else.
_HOLE = re.compile(
    r"(?P<uuid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"|(?P<stamp>\d{4}-\d{2}-\d{2}(?:%20| )\d{2}(?:%3A|:)\d{2}(?:%3A|:)\d{2})"
    r"|(?P<mobile>(?<!\d)(?:(?:\+|%2B)?84|0)[35789]\d{8}(?!\d))"
    r"|(?P<epoch>(?<![\d.])[1-9]\d{9}(?:\d{6})?(?![\d.]))"
    r"|(?P<extension>(?<!\d)10[1-5](?!\d))"
)
_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2})(%20| )(\d{2})(%3A|:)(\d{2})(%3A|:)(\d{2})")
_MOBILE = re.compile(r"((?:\+|%2B)?84|0)([35789]\d)(\d{7})")


@dataclass
class _Fill:
    """What one call puts into the holes of its template."""

    delta: int  # seconds added to every time
    start: int  # the template's start, to tell its epochs from other 10-digit numbers
    uuids: dict[str, str]
    extensions: dict[str, str]
    phones: dict[str, str]  # national significant number (9 digits) -> new one
    new_phone: Callable[[str], str]  # carrier prefix -> a new number's 9 digits


def _literal(text: str) -> Callable[[_Fill], str]:
    return lambda _: text


def _uuid(old: str) -> Callable[[_Fill], str]:
    if old == CORE_UUID:
        return _literal(old)
    return lambda fill: fill.uuids.setdefault(old, str(uuid.uuid4()))


def _epoch(text: str) -> Callable[[_Fill], str]:
    seconds, micros = int(text[:10]), text[10:]

    def fill(f: _Fill) -> str:
        if abs(seconds - f.start) > 86_400:
            return text  # some other ten-digit number
        return f"{seconds + f.delta}{micros}"

    return fill


def _stamp(text: str) -> Callable[[_Fill], str]:
    match = _STAMP.fullmatch(text)
    assert match is not None
    day, space, hour, colon, minute, colon2, second = match.groups()
    then = datetime.fromisoformat(f"{day}T{hour}:{minute}:{second}")

    def fill(f: _Fill) -> str:
        moved = then + timedelta(seconds=f.delta)
        return f"{moved:%Y-%m-%d}{space}{moved:%H}{colon}{moved:%M}{colon2}{moved:%S}"

    return fill


def _mobile(text: str) -> Callable[[_Fill], str]:
    match = _MOBILE.fullmatch(text)
    assert match is not None
    form, prefix, rest = match.groups()

    def fill(f: _Fill) -> str:
        key = prefix + rest
        if key not in f.phones:
            f.phones[key] = f.new_phone(prefix)
        return form + f.phones[key]

    return fill


def _extension(text: str) -> Callable[[_Fill], str]:
    return lambda f: f.extensions[text]


_MAKERS = {
    "uuid": _uuid,
    "epoch": _epoch,
    "stamp": _stamp,
    "mobile": _mobile,
    "extension": _extension,
}


def _compile(text: str) -> list[Callable[[_Fill], str]]:
    parts: list[Callable[[_Fill], str]] = []
    at = 0
    for match in _HOLE.finditer(text):
        parts.append(_literal(text[at : match.start()]))
        kind = match.lastgroup
        assert kind is not None
        parts.append(_MAKERS[kind](match.group(0)))
        at = match.end()
    parts.append(_literal(text[at:]))
    return parts


@dataclass(frozen=True)
class Template:
    name: str  # the fixture files' common stem, e.g. `outbound-answered`
    call_id: str
    start: int  # the call's first start_epoch (seconds)
    legs: tuple[str, ...]  # JSON texts, in the order their legs end
    carriers: frozenset[str]  # mobile prefixes its outside numbers have

    def compiled(self) -> list[list[Callable[[_Fill], str]]]:
        return [_compile(text) for text in self.legs]


@dataclass(frozen=True)
class Call:
    call_id: str  # the A-leg's uuid: the transaction id the call is stored under
    template: str
    legs: tuple[bytes, ...]  # mod_json_cdr documents, in the order they are posted


def _group(path: Path) -> str:
    return re.sub(r"-(aleg|bleg(-\d+)?)$", "", path.stem)


def load_templates(folder: Path = FIXTURES) -> list[Template]:
    """The fixture documents grouped into calls (by the call id their legs carry)."""
    by_call: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    starts: dict[str, int] = {}
    for path in sorted(folder.glob("*.json")):
        text = path.read_text(encoding="utf-8")
        leg = parse_leg(parse_document(text.encode()))
        assert leg.start_ms is not None
        by_call[leg.call_id].append((leg.end_ms or leg.start_ms, path.stem, text))
        starts[leg.call_id] = min(starts.get(leg.call_id, leg.start_ms), leg.start_ms)
    templates = []
    for call_id, found in by_call.items():
        found.sort()
        texts = tuple(text for _, _, text in found)
        carriers = frozenset(
            m.group(0) for t in texts for m in _HOLE.finditer(t) if m.lastgroup == "mobile"
        )
        templates.append(
            Template(
                _group(Path(found[0][1])),
                call_id,
                starts[call_id] // 1000,
                texts,
                frozenset(_MOBILE.fullmatch(n).group(2) for n in carriers),  # type: ignore[union-attr]
            )
        )
    return sorted(templates, key=lambda t: t.name)


class CallMaker:
    """Deterministic calls (by `seed`, apart from the uuids, which are always new).

    `customer_numbers()` is the customers directory the calls expect: about
    CUSTOMER_SHARE of their outside numbers are among them.
    """

    def __init__(
        self,
        seed: int = 1,
        agents: int = 50,
        customers: int = 1000,
        days: int = 20,
        now: float | None = None,
    ) -> None:
        if agents < len(TEMPLATE_EXTENSIONS):
            raise ValueError(f"at least {len(TEMPLATE_EXTENSIONS)} agents")
        self.rng = random.Random(seed)
        self.templates = load_templates()
        self._compiled = [t.compiled() for t in self.templates]
        self._weights = [WEIGHTS.get(t.name, 1) for t in self.templates]
        self.extensions = [str(FIRST_EXTENSION + i) for i in range(agents)]
        prefixes = sorted(set().union(*(t.carriers for t in self.templates)))
        self._known: dict[str, list[str]] = {p: [] for p in prefixes}
        for i in range(customers):
            prefix = prefixes[i % len(prefixes)]
            self._known[prefix].append(f"{prefix}{self.rng.randrange(10**7):07d}")
        self.end = int(now if now is not None else time.time()) - 3600
        self.span = days * 86_400

    def customer_numbers(self) -> list[str]:
        """National forms (0…) of the customers' numbers."""
        return sorted({f"0{n}" for numbers in self._known.values() for n in numbers})

    def _new_phone(self, prefix: str) -> str:
        known = self._known.get(prefix)
        if known and self.rng.random() < CUSTOMER_SHARE:
            return self.rng.choice(known)
        return f"{prefix}{self.rng.randrange(10**7):07d}"

    def calls(self, count: int) -> list[Call]:
        """`count` calls, oldest first, evenly spread (with jitter) over the last days."""
        step = self.span / max(count, 1)
        begin = self.end - self.span
        return [self.call(int(begin + i * step + self.rng.random() * step)) for i in range(count)]

    def call(self, start: int) -> Call:
        index = self.rng.choices(range(len(self.templates)), self._weights)[0]
        template = self.templates[index]
        fill = _Fill(
            delta=start - template.start,
            start=template.start,
            uuids={},
            extensions=dict(
                zip(
                    TEMPLATE_EXTENSIONS,
                    self.rng.sample(self.extensions, len(TEMPLATE_EXTENSIONS)),
                    strict=True,
                )
            ),
            phones={},
            new_phone=self._new_phone,
        )
        legs = tuple(
            "".join(part(fill) for part in parts).encode() for parts in self._compiled[index]
        )
        return Call(fill.uuids[template.call_id], template.name, legs)


def check_calls(calls: Sequence[Call], parse: int | None = None) -> None:
    """No call id repeats; the first `parse` calls' legs (all: None) parse, name their
    call and carry their own uuids."""
    ids = [c.call_id for c in calls]
    assert len(set(ids)) == len(ids), "a call id repeats"
    seen: set[str] = set()
    for call in calls[:parse]:
        for raw in call.legs:
            leg = parse_leg(parse_document(raw))
            assert leg.call_id == call.call_id, (call.template, leg.call_id, call.call_id)
            assert leg.uuid not in seen, f"leg uuid {leg.uuid} repeats"
            seen.add(leg.uuid)
