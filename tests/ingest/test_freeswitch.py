"""Decoding mod_json_cdr posts and reading legs, without a database: our own documents,
and the real ones in ../shared/fixtures/freeswitch where that folder exists."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from callhistory.ingest.formats.freeswitch import CdrError, decode_body, parse_leg, variables_of
from callhistory.ingest.formats.freeswitch_merge import merge
from tests.conftest import SHARED
from tests.ingest.freeswitch_posts import ENCODINGS, document, encoded

REAL = SHARED / "fixtures" / "freeswitch"
needs_real = pytest.mark.skipif(
    not REAL.is_dir(), reason="../shared/fixtures/freeswitch is not on this machine"
)


def real(prefix: str) -> bytes:
    return next(REAL.glob(f"{prefix}-*.json")).read_bytes()


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_encoding_gives_the_same_document(encoding: str) -> None:
    raw = document("inbound-queue-answered-aleg")
    body, content_type = encoded(raw, encoding)
    assert decode_body(body, content_type) == json.loads(raw)


def test_form_without_content_type_is_recognised() -> None:
    raw = document("local-answered-aleg")
    for encoding in ("urlencoded", "base64"):
        body, _ = encoded(raw, encoding)
        assert decode_body(body, "") == json.loads(raw)


def test_base64_escaped_by_a_proxy_still_decodes() -> None:
    raw = document("local-answered-aleg")
    body = b"cdr=" + quote(base64.b64encode(raw), safe="").encode()
    assert decode_body(body, "application/x-www-form-base64-encoded") == json.loads(raw)


def test_encoded_values_are_decoded_per_document() -> None:
    encoded_leg = parse_leg(decode_body(document("inbound-queue-answered-aleg"), ""))
    assert encoded_leg.variables["cc_queue_name"] == "Chăm sóc khách hàng"
    assert encoded_leg.queue == "5001"
    # A plain document keeps a literal `%` as it is.
    plain = parse_leg(decode_body(document("inbound-busy-aleg"), ""))
    assert plain.variables["ringback"] == "%(2000,4000,440,480)"


def test_repeated_callflow_keys_are_all_kept() -> None:
    doc = decode_body(document("transferred-aleg"), "application/json")
    assert isinstance(doc["callflow"], list) and len(doc["callflow"]) == 2
    # The number first dialled, not the transfer target of the later profile.
    assert parse_leg(doc).destination_number == "19001234"


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b"", "application/json", "cdr_is_required"),
        (b"   ", "application/x-www-form-urlencoded", "cdr_is_required"),
        (b"uuid=1", "application/x-www-form-urlencoded", "cdr_is_required"),
        (b"{not json", "application/json", "invalid_json"),
        (b"\xff\xfe{}", "application/json", "invalid_json"),
        (b"[1, 2]", "application/json", "cdr_must_be_an_object"),
        (b"cdr=%%%not-base64!", "application/x-www-form-base64-encoded", "cdr_invalid_base64"),
        (b"cdr=%7Bbroken", "application/x-www-form-urlencoded", "invalid_json"),
    ],
)
def test_bad_bodies_have_clear_codes(body: bytes, content_type: str, code: str) -> None:
    with pytest.raises(CdrError) as caught:
        decode_body(body, content_type)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("doc", "code"),
    [
        ({"channel_data": {}}, "cdr_variables_missing"),
        ({"variables": "x"}, "cdr_variables_missing"),
        ({"variables": {"start_epoch": "1795000000"}}, "cdr_uuid_missing"),
        ({"variables": {"uuid": "abc", "start_epoch": "0"}}, "cdr_start_missing"),
        ({"variables": {"uuid": "x" * 65, "start_epoch": "1"}}, "cdr_uuid_missing"),
    ],
)
def test_documents_missing_what_a_call_needs(doc: dict[str, object], code: str) -> None:
    with pytest.raises(CdrError) as caught:
        parse_leg(doc)
    assert caught.value.code == code


def test_uuid_from_the_query_when_the_document_has_none() -> None:
    leg = parse_leg({"variables": {"start_epoch": "1795000000"}}, uuid_hint="from-query")
    assert (leg.uuid, leg.call_id, leg.start_ms) == ("from-query", "from-query", 1795000000000)


def test_merge_is_the_same_in_any_order() -> None:
    legs = [
        parse_leg(decode_body(document(name), ""))
        for name in ("transferred-aleg", "transferred-bleg-102", "transferred-bleg-105")
    ]
    assert merge(legs) == merge(legs[::-1]) == merge([legs[1], legs[0], legs[2]])
    merged = merge(legs)
    assert merged.extensions == ("102", "105")
    assert (merged.bill_sec, merged.answered) == (180, True)


@needs_real
def test_every_real_document_parses() -> None:
    for path in sorted(REAL.glob("*.json")):
        leg = parse_leg(decode_body(path.read_bytes(), "application/json"))
        assert leg.uuid and leg.call_id and leg.start_ms, path.name
        assert leg.end_ms and leg.end_ms >= leg.start_ms, path.name


@needs_real
def test_real_url_encoded_values_are_decoded_and_plain_ones_kept() -> None:
    encoded_doc = variables_of(decode_body(real("01"), "application/json"))
    assert encoded_doc["start_stamp"] == "2013-05-16 14:33:28"
    plain = decode_body(real("02"), "application/json")
    assert variables_of(plain)["start_stamp"] == plain["variables"]["start_stamp"]


@needs_real
def test_real_legacy_documents_keep_both_callflows() -> None:
    for prefix in ("02", "03"):
        doc = decode_body(real(prefix), "application/json")
        assert len(doc["callflow"]) == 2
    assert parse_leg(decode_body(real("02"), "")).destination_number == "+4986517174963"


@needs_real
def test_real_a_and_b_legs_make_one_cancelled_call() -> None:
    a_leg = parse_leg(decode_body(real("05"), "application/json"))
    b_leg = parse_leg(decode_body(real("06"), "application/json"))
    assert (a_leg.is_b_leg, b_leg.is_b_leg) == (False, True)
    assert a_leg.call_id == b_leg.call_id == a_leg.uuid
    call = merge([b_leg, a_leg])
    assert (call.answered, call.hangup_cause, call.hangup_cause_q850) == (
        False,
        "ORIGINATOR_CANCEL",
        16,
    )
    assert (call.caller_number, call.destination_number, call.dial_status) == (
        "1001",
        "1003",
        "CANCEL",
    )
    assert call.mos is None  # no media on an unanswered call


@needs_real
def test_real_answered_calls() -> None:
    held = parse_leg(decode_body(real("04"), "application/json"))
    assert (held.billsec, held.hold_sec, held.answered) == (21, 15, True)
    assert held.mos == pytest.approx(4.49)
    dialer = parse_leg(decode_body(real("07"), "application/json"))
    assert (dialer.caller_number, dialer.destination_number) == ("9111110001", "3868158407")
    assert (dialer.is_auto_call, dialer.playback_seconds, dialer.billsec) == (True, 6, 7)
