"""One call of a generic batch (`POST /api/cdr`, `import --format jsonl`): checked on
its own, then described PBX-neutrally (MergedCall) so it is enriched like any other.

An item has the list item's shape (docs/import.md): `transaction_id`, `created_date`
(epoch ms), `source_number` and `destination_number` are required; the rest is optional
and unknown fields are ignored. Every problem of an item is reported, as
`{"field", "code"}`, so a sender can fix a row in one round trip.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from callhistory.calls.rules import MAX_NOTE_LENGTH, TagProblem, tag_names
from callhistory.ingest.formats.call import MergedCall
from callhistory.ingest.records import CallRecord
from callhistory.phones import national

FieldError = dict[str, str]

EARLIEST_MS = 946_684_800_000  # 2000-01-01: anything earlier is seconds sent as ms
FUTURE_SLACK_MS = 86_400_000  # clocks drift; a day ahead is still a date, not a mistake
MAX_SECONDS = 2_147_483_647  # the integer columns' range
MAX_URL = 2000

# Pydantic's error types, as the stable codes the API answers with.
_CODES = {
    "missing": "required",
    "string_type": "must_be_a_string",
    "string_too_short": "required",
    "string_too_long": "too_long",
    "int_type": "must_be_an_integer",
    "int_parsing": "must_be_an_integer",
    "int_from_float": "must_be_an_integer",
    "float_type": "must_be_a_number",
    "float_parsing": "must_be_a_number",
    "finite_number": "must_be_a_number",
    "bool_type": "must_be_a_boolean",
    "bool_parsing": "must_be_a_boolean",
    "list_type": "must_be_a_list",
    "too_long": "too_many_items",
    "greater_than_equal": "too_small",
    "greater_than": "too_small",
    "less_than_equal": "too_large",
    "less_than": "too_large",
    "literal_error": "invalid_choice",
}


class InvalidItem(Exception):
    """An item refused, with every problem found."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(", ".join(f"{e['field']} {e['code']}" for e in errors))
        self.errors = errors

    @property
    def code(self) -> str:
        return self.errors[0]["code"]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("nul_byte", "text cannot hold a NUL byte")
    return value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _first_of_list(value: Any) -> Any:
    """`sip_numbers` as the filter names it: a number, or a list whose first is the hotline."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _tags(value: list[str]) -> list[str]:
    try:
        return tag_names(value)
    except TagProblem as exc:
        raise PydanticCustomError(exc.code, "{problem}", {"problem": exc.code}) from None


def _bounded(min_length: int, max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


Required = Annotated[str, _bounded(1, 64), AfterValidator(_no_nul)]
Text32 = Annotated[str, _bounded(0, 32), AfterValidator(_no_nul)]
Text64 = Annotated[str, _bounded(0, 64), AfterValidator(_no_nul)]
Url = Annotated[str, _bounded(0, MAX_URL), AfterValidator(_no_nul)]
Note = Annotated[str, _bounded(0, MAX_NOTE_LENGTH), AfterValidator(_no_nul)]
Tags = Annotated[list[Annotated[str, AfterValidator(_no_nul)]], AfterValidator(_tags)]
Seconds = Annotated[int, Field(ge=0, le=MAX_SECONDS)]


class CallItem(BaseModel):
    """What a sender may say about a call; what it leaves out is derived or left empty."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    transaction_id: Required
    created_date: int
    source_number: Required
    destination_number: Required
    direction: Annotated[
        Literal["inbound", "outbound", "local"] | None, BeforeValidator(_lower)
    ] = None
    disposition: Annotated[Literal["answered", "cancelled"] | None, BeforeValidator(_lower)] = None
    bill_sec: Seconds | None = None
    duration: Seconds | None = None
    record_seconds: Seconds | None = None
    wait_sec: Seconds | None = None
    hold_call_sec: Seconds | None = None
    time_start_to_answer: int | None = None  # epoch seconds
    time_end_call: int | None = None  # epoch seconds
    hangup_cause: Text64 | None = None
    hangup_cause_q850: Annotated[int, Field(ge=0, le=127)] | None = None
    dial_status: Text32 | None = None
    sip_user: Text32 | None = None
    queue_destination: Text32 | None = None
    hotline: Text32 | None = None
    sip_numbers: Annotated[Text32 | None, BeforeValidator(_first_of_list)] = None
    recording_file: Url | None = None
    recording_file_voicemail: Url | None = None
    is_voicemail: bool = False
    is_auto_call: bool = False
    provider: Annotated[Text32 | None, BeforeValidator(_lower)] = None
    call_out_price: Annotated[int, Field(ge=0, le=MAX_SECONDS)] | None = None
    rtp_audio_in_mos: Annotated[float, Field(ge=0, le=5)] | None = None
    pbx_type: Text32 | None = None
    note: Note | None = None
    tag: Tags | None = None


@dataclass(frozen=True)
class CheckedItem:
    """A good item: the call as the PBX-neutral merge describes it, plus what the sender
    gave that enrichment would otherwise derive."""

    call: MergedCall
    note: str | None
    tags: tuple[str, ...]
    pbx_type: str
    overrides: dict[str, Any]  # CallRecord fields the item sets itself

    @property
    def transaction_id(self) -> str:
        return self.call.call_id

    def overrides_for(self, record: CallRecord) -> dict[str, Any]:
        """The item's own values over the enriched record's (the directory's customer wins)."""
        if record.customer_name and "customer_name" in self.overrides:
            return {k: v for k, v in self.overrides.items() if k != "customer_name"}
        return self.overrides

    def finish(self, record: CallRecord) -> CallRecord:
        """The enriched record with the item's own values where it gave them."""
        overrides = self.overrides_for(record)
        return dataclasses.replace(record, **overrides) if overrides else record


def _field(location: tuple[Any, ...]) -> str:
    return str(location[0]) if location else "item"


def _errors(exc: ValidationError) -> list[FieldError]:
    found: list[FieldError] = []
    for error in exc.errors():
        kind = error["type"]
        code = _CODES.get(kind, kind)
        if error.get("input", ...) is None and kind != "missing":
            code = "required"
        entry = {"field": _field(tuple(error["loc"])), "code": code}
        if entry not in found:
            found.append(entry)
    return found


def transaction_id_of(raw: Any) -> str | None:
    """The item's transaction id as sent, when it has a usable one (for the answer)."""
    if not isinstance(raw, dict):
        return None
    value = raw.get("transaction_id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip()[:64] or None


def _check_times(item: CallItem, errors: list[FieldError]) -> None:
    latest = time.time_ns() // 1_000_000 + FUTURE_SLACK_MS
    if not EARLIEST_MS <= item.created_date <= latest:
        errors.append({"field": "created_date", "code": "date_invalid"})
        return
    start_s = item.created_date // 1000
    for name in ("time_start_to_answer", "time_end_call"):
        value = getattr(item, name)
        if value is None:
            continue
        if value > latest // 1000 + 1:  # also catches milliseconds in a seconds field
            errors.append({"field": name, "code": "date_invalid"})
        elif value < start_s:
            errors.append({"field": name, "code": "before_created_date"})
    answer, end = item.time_start_to_answer, item.time_end_call
    if answer is not None and end is not None and end < answer and not errors:
        errors.append({"field": "time_end_call", "code": "before_time_start_to_answer"})


def check(raw: Any) -> CheckedItem:
    """A good item, or InvalidItem with every problem found."""
    if not isinstance(raw, dict):
        raise InvalidItem([{"field": "item", "code": "must_be_an_object"}])
    try:
        item = CallItem.model_validate(raw)
    except ValidationError as exc:
        raise InvalidItem(_errors(exc)) from exc
    errors: list[FieldError] = []
    _check_times(item, errors)
    if errors:
        raise InvalidItem(errors)
    return _describe(item, raw)


def _describe(item: CallItem, raw: dict[str, Any]) -> CheckedItem:
    start = item.created_date
    if item.disposition is not None:
        answered = item.disposition == "answered"
    else:
        answered = bool(item.bill_sec)
    if item.time_end_call is not None:
        end = max(start, item.time_end_call * 1000)
    elif item.duration is not None:
        end = start + item.duration * 1000
    else:
        end = start + (item.wait_sec or 0) * 1000 + (item.bill_sec or 0) * 1000
    answer: int | None = None
    if answered:
        if item.time_start_to_answer is not None:
            answer = max(start, item.time_start_to_answer * 1000)
        elif item.bill_sec is not None:
            answer = max(start, end - item.bill_sec * 1000)
    if item.bill_sec is not None:
        bill_sec = item.bill_sec
    else:
        bill_sec = round((end - answer) / 1000) if answered and answer is not None else 0
    if item.wait_sec is not None:
        wait_sec = item.wait_sec
    else:
        wait_sec = round((answer - start) / 1000) if answer is not None else 0
    hotline = item.hotline or item.sip_numbers
    call = MergedCall(
        call_id=item.transaction_id,
        caller_number=item.source_number,
        destination_number=item.destination_number,
        start_ms=start,
        answer_ms=answer,
        end_ms=end,
        bill_sec=bill_sec,
        wait_sec=wait_sec,
        hold_sec=item.hold_call_sec or 0,
        answered=answered,
        hangup_cause=item.hangup_cause or None,
        hangup_cause_q850=item.hangup_cause_q850,
        dial_status=item.dial_status or None,
        mos=item.rtp_audio_in_mos,
        extensions=(item.sip_user,) if item.sip_user else (),
        sip_from_user=None,
        domain=None,
        queue=item.queue_destination or None,
        recording_path=item.recording_file or None,
        record_seconds=item.record_seconds,
        voicemail=item.is_voicemail,
        voicemail_path=item.recording_file_voicemail or None,
        is_auto_call=item.is_auto_call,
        outbound_caller_id=hotline or None,
        direction=item.direction,
        provider=item.provider or None,
    )
    overrides: dict[str, Any] = {}
    if item.duration is not None:
        overrides["duration"] = item.duration
    if item.call_out_price is not None:
        overrides["call_out_price"] = item.call_out_price
    if hotline:
        overrides["hotline"] = national(hotline)
    customer = _customer_name(raw)
    if customer:
        overrides["customer_name"] = customer
    return CheckedItem(
        call=call,
        note=item.note or None,
        tags=tuple(item.tag or ()),
        pbx_type=item.pbx_type or "",
        overrides=overrides,
    )


def _customer_name(raw: dict[str, Any]) -> str | None:
    """The list item's `customer.full_name`, kept when the directory knows no customer."""
    customer = raw.get("customer")
    if isinstance(customer, dict):
        name = customer.get("full_name")
        if isinstance(name, str) and name.strip() and "\x00" not in name:
            return " ".join(name.split())[:200]
    return None
