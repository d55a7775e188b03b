"""One generic batch item: its checks, and the PBX-neutral call it describes."""

from __future__ import annotations

from typing import Any

import pytest

from callhistory.ingest.formats.items import CheckedItem, InvalidItem, check, transaction_id_of
from callhistory.ingest.records import CallRecord

START = 1_709_262_000_000  # 2024-03-01 03:00:00 UTC


def item(**changes: Any) -> dict[str, Any]:
    base = {
        "transaction_id": "tx-1",
        "created_date": START,
        "source_number": "0912345678",
        "destination_number": "19001234",
    }
    return {**base, **changes}


def test_the_least_an_item_can_say() -> None:
    checked = check(item())
    call = checked.call
    assert (call.call_id, call.caller_number, call.destination_number) == (
        "tx-1",
        "0912345678",
        "19001234",
    )
    assert not call.answered and call.answer_ms is None and call.bill_sec == 0
    assert call.start_ms == call.end_ms == START
    assert call.direction is None and call.provider is None  # left to enrichment
    assert call.extensions == () and checked.overrides == {} and checked.tags == ()


def test_answered_from_bill_sec_and_times_derived() -> None:
    call = check(item(bill_sec=30, duration=40)).call
    assert call.answered and call.end_ms == START + 40_000
    assert call.answer_ms == START + 10_000 and call.wait_sec == 10


def test_explicit_times_win() -> None:
    call = check(
        item(
            disposition="ANSWERED",
            time_start_to_answer=START // 1000 + 5,
            time_end_call=START // 1000 + 65,
        )
    ).call
    assert call.answered and call.answer_ms == START + 5_000 and call.end_ms == START + 65_000
    assert call.bill_sec == 60 and call.wait_sec == 5


def test_cancelled_ignores_an_answer_time() -> None:
    # The list item shows time_start_to_answer = the start for unanswered calls.
    call = check(item(disposition="cancelled", time_start_to_answer=START // 1000)).call
    assert not call.answered and call.answer_ms is None


def test_what_the_sender_says_is_kept() -> None:
    checked = check(
        item(
            direction="Outbound",
            source_number=101,
            sip_user="101",
            provider=" Viettel ",
            sip_numbers=["+84 28 7300 1234", "ignored"],
            duration=99,
            call_out_price=1234,
            queue_destination="500",
            hangup_cause="NORMAL_CLEARING",
            hangup_cause_q850=16,
            rtp_audio_in_mos=4.3,
            is_auto_call=True,
            recording_file="https://rec.example.vn/1.mp3",
            is_voicemail=True,
            recording_file_voicemail="/vm/1.wav",
            note="  ghi chú  ",
            tag=["VIP", " vip", "Hài  lòng"],
            customer={"full_name": " Nguyễn  Thị Bích "},
            pbx_type="3cx",
            unknown_field={"ignored": True},
        )
    )
    call = checked.call
    assert call.direction == "outbound" and call.caller_number == "101"
    assert call.provider == "viettel" and call.extensions == ("101",)
    assert call.outbound_caller_id == "+84 28 7300 1234" and call.queue == "500"
    assert (call.hangup_cause, call.hangup_cause_q850, call.mos) == ("NORMAL_CLEARING", 16, 4.3)
    assert call.is_auto_call and call.voicemail and call.voicemail_path == "/vm/1.wav"
    assert call.recording_path == "https://rec.example.vn/1.mp3"
    assert checked.note == "ghi chú" and checked.tags == ("VIP", "Hài lòng")
    assert checked.pbx_type == "3cx"
    assert checked.overrides == {
        "duration": 99,
        "call_out_price": 1234,
        "hotline": "02873001234",
        "customer_name": "Nguyễn Thị Bích",
    }


def test_the_directorys_customer_wins_over_the_items() -> None:
    checked: CheckedItem = check(item(customer={"full_name": "Sender's name"}, duration=5))
    known = CallRecord("tx-1", START, "inbound", "answered", customer_name="Directory's name")
    unknown = CallRecord("tx-1", START, "inbound", "answered")
    assert checked.finish(known).customer_name == "Directory's name"
    assert checked.finish(unknown).customer_name == "Sender's name"
    assert checked.finish(unknown).duration == 5


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidItem) as caught:
        check({"transaction_id": "x", "created_date": "soon", "bill_sec": -1, "direction": 3})
    assert {(e["field"], e["code"]) for e in caught.value.errors} == {
        ("created_date", "must_be_an_integer"),
        ("source_number", "required"),
        ("destination_number", "required"),
        ("bill_sec", "too_small"),
        ("direction", "invalid_choice"),
    }
    assert caught.value.code == caught.value.errors[0]["code"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"transaction_id": " abc "}, "abc"),
        ({"transaction_id": 42}, "42"),
        ({"transaction_id": True}, None),
        ({"transaction_id": ["x"]}, None),
        ({}, None),
        ("text", None),
    ],
)
def test_transaction_id_for_the_answer(raw: Any, expected: str | None) -> None:
    assert transaction_id_of(raw) == expected
