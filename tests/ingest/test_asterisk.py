"""Asterisk cdr_csv files: every layout the module writes, exports with a header, odd
quoting, and one call from its rows in any order."""

from __future__ import annotations

import io
import random
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callhistory.ingest.formats.asterisk import (
    BASE_COLUMNS,
    AsteriskError,
    CdrRow,
    CsvReader,
    header_columns,
    headerless_columns,
    parse_row,
    read_records,
)
from callhistory.ingest.formats.asterisk_merge import (
    DISPOSITIONS,
    extension_of,
    group,
    merge_rows,
    parse_csv,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def parsed(name: str, zone: ZoneInfo = HCM):  # type: ignore[no-untyped-def]
    return parse_csv((FIXTURES / name).read_bytes(), zone)


def by_id(name: str) -> dict[str, object]:
    return {call.call_id: call for call in parsed(name).calls}


def test_headerless_18_columns_crlf() -> None:
    result = parsed("headerless-18.csv")
    assert result.errors == []
    first = result.rows[0]
    assert first.clid == '"Nguyễn Văn A" <0912345678>'
    assert first.uniqueid == "1709259302.42" and first.userfield == ""
    # 09:15:02 in Ho Chi Minh City is 02:15:02 UTC
    assert first.start_ms == 1_709_259_302_000
    assert (first.answer_ms, first.end_ms) == (1_709_259_309_000, 1_709_259_431_000)
    assert result.rows[2].userfield == "campaign-7"

    calls = {c.call_id: c for c in result.calls}
    answered = calls["1709259302.42"]
    assert (answered.caller_number, answered.destination_number) == ("0912345678", "19001234")
    assert answered.answered and answered.bill_sec == 122 and answered.wait_sec == 7
    assert answered.extensions == ("101",)
    assert (answered.hangup_cause, answered.hangup_cause_q850) == ("NORMAL_CLEARING", 16)
    outcomes = [
        (c.hangup_cause, c.hangup_cause_q850, c.answered, c.answer_ms) for c in result.calls[1:]
    ]
    assert outcomes == [
        ("NO_ANSWER", 19, False, None),
        ("USER_BUSY", 17, False, None),
        ("CALL_REJECTED", 21, False, None),
        ("NORMAL_CIRCUIT_CONGESTION", 34, False, None),
    ]
    assert calls["1709262000.50"].extensions == ("101",)  # the agent who dialled
    assert calls["1709262360.52"].extensions == ()  # a trunk is nobody's extension


def test_the_times_zone_is_the_callers_choice() -> None:
    local = parsed("headerless-18.csv").rows[0]
    utc = parsed("headerless-18.csv", ZoneInfo("UTC")).rows[0]
    assert utc.start_ms - local.start_ms == 7 * 3_600_000


def test_newer_columns_group_rows_of_one_call_by_linkedid() -> None:
    result = parsed("newcolumns-21.csv")
    assert result.errors == []
    assert [r.sequence for r in result.rows] == [1, 3, 2, 4]
    assert result.rows[0].linkedid == "1709280000.100" and result.rows[0].peeraccount == ""
    calls = {c.call_id: c for c in result.calls}
    assert list(calls) == ["1709280000.100", "1709280060.110", "1709283600.120"]
    queued = calls["1709280000.100"]
    assert queued.answered and queued.bill_sec == 180
    assert queued.extensions == ("102", "101")  # who answered first, then who was rung
    assert queued.queue == "500"
    assert queued.start_ms == 1_709_280_000_000 and queued.end_ms == 1_709_280_205_000
    assert queued.answer_ms == 1_709_280_025_000 and queued.wait_sec == 25
    assert queued.dial_status == "ANSWER"
    local = calls["1709280060.110"]
    assert (local.caller_number, local.destination_number) == ("101", "102")
    assert local.extensions == ("102", "101")
    assert calls["1709283600.120"].voicemail


def test_rows_merge_the_same_in_any_order() -> None:
    rows = group(parsed("newcolumns-21.csv").rows)["1709280000.100"]
    expected = merge_rows(rows)
    shuffled = list(rows)
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        assert merge_rows(shuffled) == expected


def test_without_any_id_each_row_is_a_call_with_a_stable_key() -> None:
    first, second = parsed("headerless-16.csv"), parsed("headerless-16.csv")
    ids = [c.call_id for c in first.calls]
    assert len(set(ids)) == 2 and all(i.startswith("ast-") and len(i) <= 64 for i in ids)
    assert ids == [c.call_id for c in second.calls]


def test_a_header_in_any_order_backslash_quotes_and_bad_rows() -> None:
    result = parsed("header.csv")
    assert [(e.code, e.line) for e in result.errors] == [
        ("start_invalid", 4),
        ("wrong_column_count", 5),
    ]
    clids = [r.clid for r in result.rows]
    assert clids == [
        '"Nguyễn Văn A" <0912345678>',
        '"Lê Thị Bé Ba" <0987654321>',
        '"Phạm, Hoa" <0944444444>',
    ]
    assert result.rows[2].userfield == "ghi chú\ndòng hai"  # a quoted line break
    calls = {c.call_id: c for c in result.calls}
    first = calls["1709300000.1"]
    # no answer/end columns: end = calldate + duration, answer = end - billsec
    assert first.start_ms == 1_709_301_200_000
    assert (first.end_ms, first.answer_ms) == (1_709_301_270_000, 1_709_301_208_000)
    assert first.recording_path and first.recording_path.endswith("1709300000.1.wav")
    assert calls["1709300100.2"].caller_number == "0987654321"  # src empty: from clid


def test_row_fingerprint_ignores_layout() -> None:
    headerless = parsed("headerless-18.csv").rows[0]
    columns = ("uniqueid", "userfield", *reversed(BASE_COLUMNS))
    values = dict(
        zip(
            (*BASE_COLUMNS, "uniqueid", "userfield"),
            next(read_records(io.BytesIO((FIXTURES / "headerless-18.csv").read_bytes()))).fields,
            strict=True,
        )
    )
    again = parse_row([values[c] for c in columns], columns, HCM)
    assert again == headerless and again.call_key == headerless.call_key


@pytest.mark.parametrize(
    ("count", "seventeenth", "expected_tail"),
    [
        (16, None, ()),
        (17, "1709259302.42", ("uniqueid",)),
        (17, "pbx1-1709259302.42", ("uniqueid",)),
        (17, "campaign-7", ("userfield",)),
        (18, "1709259302.42", ("uniqueid", "userfield")),
        (19, "", ("peeraccount", "linkedid", "sequence")),
        (21, "1709259302.42", ("uniqueid", "userfield", "peeraccount", "linkedid", "sequence")),
    ],
)
def test_headerless_layouts(count: int, seventeenth: str | None, expected_tail: tuple[str]) -> None:
    fields = [""] * count
    if seventeenth is not None:
        fields[16] = seventeenth
    assert headerless_columns(fields) == (*BASE_COLUMNS, *expected_tail)


def test_swapped_linkedid_and_peeraccount_are_recognised() -> None:
    fields = [""] * 21
    fields[18], fields[19] = "1709280000.100", "acct-9"  # linkedid where peeraccount goes
    assert headerless_columns(fields)[18:] == ("linkedid", "peeraccount", "sequence")


@pytest.mark.parametrize("count", [3, 15, 22])
def test_other_column_counts_are_refused(count: int) -> None:
    with pytest.raises(AsteriskError) as caught:
        headerless_columns([""] * count)
    assert caught.value.code == "wrong_column_count"


def test_header_detection() -> None:
    assert header_columns(["Start", "src", "DST", "whatever"]) == (
        "start",
        "src",
        "dst",
        "whatever",
    )
    assert header_columns(["calldate", "src", "dst"]) == ("start", "src", "dst")
    assert header_columns(["", "0912345678", "19001234", "from-trunk"]) is None
    with pytest.raises(AsteriskError) as caught:
        header_columns(["start", "dst", "duration", "billsec"])
    assert caught.value.code == "header_missing_columns"
    with pytest.raises(AsteriskError) as repeated:
        header_columns(["start", "src", "src"])
    assert repeated.value.code == "header_repeated_column"


@pytest.mark.parametrize(
    ("channel", "extension"),
    [
        ("SIP/101-0000002a", "101"),
        ("PJSIP/2001-00000012", "2001"),
        ("IAX2/305-1234", "305"),
        ("Local/101@from-queue-0000001f;1", "101"),
        ("PJSIP/trunk_viettel-00000013", None),
        ("SIP/0987654321-0000002a", None),  # a trunk named by its number
        ("DAHDI/1-1", None),
        ("", None),
        ("garbage", None),
    ],
)
def test_extension_of_a_channel(channel: str, extension: str | None) -> None:
    assert extension_of(channel) == extension


def _row(disposition: str, answer: str = "") -> list[str]:
    return [
        "",
        "101",
        "0987654321",
        "from-internal",
        "",
        "PJSIP/101-1",
        "",
        "Dial",
        "",
        "2024-03-01 10:00:00",
        answer,
        "2024-03-01 10:00:10",
        "10",
        "5" if answer else "0",
        disposition,
        "DOCUMENTATION",
    ]


@pytest.mark.parametrize("disposition", list(DISPOSITIONS))
def test_each_disposition_gives_its_hangup_cause(disposition: str) -> None:
    answer = "2024-03-01 10:00:05" if disposition == "ANSWERED" else ""
    row = parse_row(_row(disposition.lower(), answer), BASE_COLUMNS, HCM)
    call = merge_rows([row])
    cause, q850, dial_status = DISPOSITIONS[disposition]
    assert (call.hangup_cause, call.hangup_cause_q850, call.dial_status) == (
        cause,
        q850,
        dial_status,
    )
    assert call.answered == (disposition == "ANSWERED")


@pytest.mark.parametrize(
    ("index", "value", "code"),
    [
        (9, "", "start_missing"),
        (9, "01/03/2024 10:00", "start_invalid"),
        (9, "1999-12-31 23:59:59", "start_invalid"),
        (11, "2024-03-01 09:00:00", "end_before_start"),
        (12, "ten", "duration_invalid"),
        (13, "-3", "billsec_invalid"),
        (4, "a\x00b", "nul_byte"),
    ],
)
def test_bad_rows(index: int, value: str, code: str) -> None:
    fields = _row("ANSWERED", "2024-03-01 10:00:05")
    fields[index] = value
    with pytest.raises(AsteriskError) as caught:
        parse_row(fields, BASE_COLUMNS, HCM, line=7)
    assert (caught.value.code, caught.value.line) == (code, 7)


def test_no_numbers_at_all_is_refused() -> None:
    fields = _row("ANSWERED", "2024-03-01 10:00:05")
    fields[1] = fields[2] = ""
    with pytest.raises(AsteriskError) as caught:
        parse_row(fields, BASE_COLUMNS, HCM)
    assert caught.value.code == "numbers_missing"


def test_records_know_their_offsets_and_an_open_quote_does_not_swallow_the_file() -> None:
    data = b'"a","b"\r\n"multi\nline","x"\n"never closed,"y"\n"after","z"\n\n"last","no newline"'
    records = list(read_records(io.BytesIO(data)))
    assert [r.fields for r in records] == [
        ["a", "b"],
        ["multi\nline", "x"],
        records[2].fields,  # whatever the broken line reads as, on its own
        ["after", "z"],
        ["last", "no newline"],
    ]
    assert [r.line for r in records] == [1, 2, 4, 5, 7]
    assert records[0].end == 9 and records[-1].end == len(data)
    assert [r.terminated for r in records] == [True, True, True, True, False]
    handle = io.BytesIO(data)
    handle.seek(records[2].end)
    assert next(r.fields for r in read_records(handle, 5)) == ["after", "z"]


def test_a_byte_order_mark_and_the_reader_detecting_a_header() -> None:
    data = "\ufeffstart,src,dst\n2024-03-01 10:00:00,0912345678,19001234\n".encode()
    records = list(read_records(io.BytesIO(data)))
    reader = CsvReader(HCM)
    assert reader.detect(records[0]) and reader.header == ("start", "src", "dst")
    row = reader.row(records[1])
    assert isinstance(row, CdrRow) and row.end_ms == row.start_ms
