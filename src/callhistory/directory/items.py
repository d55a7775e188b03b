"""Checking one item of a bulk upsert on its own, so one bad item never spoils the rest.

Every check collects all of an item's problems (not just the first), as the envelope's
`{"field", "code"}` list, so a client can fix a row in one round trip.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from callhistory.carriers import CARRIERS
from callhistory.phones import looks_like_number, national

Kind = Literal["agents", "customers", "hotlines", "queues", "prices"]
KINDS: tuple[Kind, ...] = ("agents", "customers", "hotlines", "queues", "prices")

# The fields each kind takes (also the CSV columns), and those it cannot do without.
FIELDS: dict[Kind, tuple[str, ...]] = {
    "agents": ("email", "full_name", "sip_user", "user_uuid", "active"),
    "customers": ("code", "full_name", "phones"),
    "hotlines": ("number", "name", "provider"),
    "queues": ("number", "name"),
    "prices": ("carrier", "price_per_minute", "first_block_sec", "next_block_sec"),
}
REQUIRED: dict[Kind, tuple[str, ...]] = {
    "agents": ("full_name",),
    "customers": ("full_name", "phones"),
    "hotlines": ("number",),
    "queues": ("number",),
    "prices": ("carrier", "price_per_minute", "first_block_sec", "next_block_sec"),
}

MAX_PHONES = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EXTENSION = re.compile(r"^\d{2,10}$")
_QUEUE = re.compile(r"^\d{1,20}$")
_SPACES = re.compile(r"\s+")
_IDS = ("email", "sip_user", "user_uuid")

FieldError = dict[str, str]


class InvalidItem(Exception):
    """An item the directory refuses, with every reason found."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(", ".join(f"{e['field']} {e['code']}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class AgentIn:
    full_name: str
    email: str | None  # lower-case
    sip_user: str | None
    user_uuid: str | None
    active: bool | None  # None: keep what is stored (a new agent is active)


@dataclass(frozen=True)
class CustomerIn:
    full_name: str
    code: str | None
    phones: tuple[str, ...]  # national form, no duplicates, the main number first


@dataclass(frozen=True)
class HotlineIn:
    number: str  # national form
    name: str | None
    provider: str | None


@dataclass(frozen=True)
class QueueIn:
    number: str
    name: str | None


@dataclass(frozen=True)
class PriceIn:
    """What the tenant pays a carrier for outbound calls, billed in blocks (VND)."""

    carrier: str
    price_per_minute: int
    first_block_sec: int
    next_block_sec: int


class _Checker:
    """Reads an item's fields; None means absent (or blank), which keeps stored values."""

    def __init__(self, raw: Any) -> None:
        if not isinstance(raw, Mapping):
            raise InvalidItem([{"field": "item", "code": "must_be_an_object"}])
        self.item: Mapping[str, Any] = raw
        self.errors: list[FieldError] = []

    def fail(self, field: str, code: str) -> None:
        self.errors.append({"field": field, "code": code})

    def done(self) -> None:
        if self.errors:
            raise InvalidItem(self.errors)

    def errors_in(self, fields: tuple[str, ...]) -> bool:
        return any(e["field"] in fields for e in self.errors)

    def text(self, name: str, max_length: int, *, required: bool = False) -> str | None:
        """A string (numbers accepted for ids typed as numbers), trimmed, spaces collapsed."""
        raw = self.item.get(name)
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        if raw is not None and not isinstance(raw, str):
            self.fail(name, "must_be_a_string")
            return None
        value = _SPACES.sub(" ", raw).strip() if raw else ""
        if not value:
            if required:
                self.fail(name, "required")
            return None
        if "\x00" in value:  # PostgreSQL text cannot hold it; SQLite would
            self.fail(name, "nul_byte")
        elif len(value) > max_length:
            self.fail(name, "too_long")
        return value

    def matching(self, name: str, pattern: re.Pattern[str], code: str) -> str | None:
        value = self.text(name, 100)
        if value is not None and not pattern.match(value):
            self.fail(name, code)
        return value

    def whole(self, name: str, low: int, high: int) -> int | None:
        """A required whole number in [low, high]; digits in a string (a CSV cell) too."""
        raw = self.item.get(name)
        if isinstance(raw, str) and raw.strip().isdigit():
            raw = int(raw.strip())
        if raw is None:
            self.fail(name, "required")
            return None
        if isinstance(raw, bool) or not isinstance(raw, int):
            self.fail(name, "must_be_a_whole_number")
            return None
        if not low <= raw <= high:
            self.fail(name, "out_of_range")
            return None
        return raw

    def flag(self, name: str) -> bool | None:
        raw = self.item.get(name)
        if raw is None or isinstance(raw, bool):
            return raw
        self.fail(name, "must_be_true_or_false")
        return None


def _phone(raw: str, min_digits: int) -> str | None:
    """The national form of a number someone typed, or None when it is not one."""
    if not looks_like_number(raw):
        return None
    number = national(raw)
    return number if min_digits <= len(number) <= 15 else None


def agent(raw: Any) -> AgentIn:
    check = _Checker(raw)
    full_name = check.text("full_name", 200, required=True)
    email = check.text("email", 254)
    if email is not None and not _EMAIL.match(email):
        check.fail("email", "invalid_email")
    sip_user = check.matching("sip_user", _EXTENSION, "invalid_extension")
    user_uuid = check.text("user_uuid", 100)
    active = check.flag("active")
    if email is None and sip_user is None and user_uuid is None and not check.errors_in(_IDS):
        check.fail("item", "email_sip_user_or_user_uuid_required")
    check.done()
    assert full_name is not None  # done() raised otherwise
    return AgentIn(full_name, email.lower() if email else None, sip_user, user_uuid, active)


def _phones(check: _Checker) -> tuple[str, ...]:
    raw = check.item.get("phones")
    if raw is None or raw == []:
        check.fail("phones", "required")
        return ()
    if not isinstance(raw, list):
        check.fail("phones", "must_be_a_list")
        return ()
    if len(raw) > MAX_PHONES:
        check.fail("phones", "too_many_phones")
        return ()
    found: list[str] = []
    for position, value in enumerate(raw):
        typed = isinstance(value, str | int) and not isinstance(value, bool)
        number = _phone(str(value), 8) if typed else None
        if number is None:
            check.fail(f"phones.{position}", "invalid_phone")
        else:
            found.append(number)
    return tuple(dict.fromkeys(found))  # '0912…' and '+84912…' are one number


def customer(raw: Any) -> CustomerIn:
    check = _Checker(raw)
    full_name = check.text("full_name", 200, required=True)
    code = check.text("code", 100)
    phones = _phones(check)
    check.done()
    assert full_name is not None
    return CustomerIn(full_name, code, phones)


def hotline(raw: Any) -> HotlineIn:
    check = _Checker(raw)
    number = check.text("number", 32, required=True)
    if number is not None:
        number = _phone(number, 3)
        if number is None:
            check.fail("number", "invalid_number")
    name = check.text("name", 200)
    provider = check.text("provider", 32)
    check.done()
    assert number is not None
    return HotlineIn(number, name, provider.lower() if provider else None)


def queue(raw: Any) -> QueueIn:
    check = _Checker(raw)
    number = check.matching("number", _QUEUE, "invalid_number")
    if number is None and not check.errors_in(("number",)):
        check.fail("number", "required")
    name = check.text("name", 200)
    check.done()
    assert number is not None
    return QueueIn(number, name)


def price(raw: Any) -> PriceIn:
    check = _Checker(raw)
    carrier = check.text("carrier", 32, required=True)
    carrier = carrier.lower() if carrier else None
    if carrier is not None and carrier not in CARRIERS:
        check.fail("carrier", "unknown_carrier")
    per_minute = check.whole("price_per_minute", 0, 1_000_000)
    first = check.whole("first_block_sec", 1, 3600)
    following = check.whole("next_block_sec", 1, 3600)
    check.done()
    assert carrier and per_minute is not None and first and following
    return PriceIn(carrier, per_minute, first, following)
