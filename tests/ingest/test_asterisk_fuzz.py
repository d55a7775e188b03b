"""Whatever a Master.csv holds, the Asterisk reader answers with rows and AsteriskErrors
(stable codes), never another exception (which would stop an import midway); and a row
written the way cdr_csv (or a database export) writes it reads back to its own fields,
with or without a header, in any column order."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from datetime import datetime
from random import Random
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from callhistory.ingest.formats.asterisk import (
    BASE_COLUMNS,
    KNOWN_COLUMNS,
    AsteriskError,
    CdrRow,
    read_records,
)
from callhistory.ingest.formats.asterisk_merge import (
    DISPOSITIONS,
    ParsedFile,
    parse_csv,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
ZONES = st.sampled_from([HCM, ZoneInfo("UTC")])
ROW_CODES = frozenset(
    {
        "wrong_column_count",
        "nul_byte",
        "start_missing",
        "start_invalid",
        "answer_invalid",
        "end_invalid",
        "duration_invalid",
        "billsec_invalid",
        "end_before_start",
        "numbers_missing",
    }
)
FILE_CODES = frozenset({"header_missing_columns", "header_repeated_column"})
UNIQUEID = re.compile(r"^(?:[\w.\-]+-)?\d{9,}\.\d+$")


def _read(data: bytes, zone: ZoneInfo) -> ParsedFile | None:
    """The file read, checking that every refusal is an AsteriskError with a known code."""
    try:
        parsed = parse_csv(data, zone)
    except AsteriskError as exc:  # only a bad header refuses the whole file
        assert exc.code in FILE_CODES, exc.code
        return None
    for error in parsed.errors:
        assert isinstance(error, AsteriskError)
        assert error.code in ROW_CODES, error.code
        assert error.line is not None and error.line >= 1
    for call in parsed.calls:  # merging the rows of each call never fails either
        assert call.start_ms <= call.end_ms
        assert call.call_id and len(call.call_id) <= 64
    return parsed


# ---- anything at all -------------------------------------------------------------------

# What cdr_csv files are made of, and what breaks parsers: dates good and bad, numbers
# that are not (inf, nan, 1e400, superscripts), quotes, BOMs, NULs, column names.
TOKENS = st.one_of(
    st.sampled_from(
        [
            "",
            "2024-03-01 09:15:02",
            "2024/03/01 09:15:02",
            "2024-03-01T09:15:02+07:00",
            "2024-02-30 00:00:00",
            "1999-12-31 23:59:59",
            "0001-01-01 00:00:00",
            "9999-12-31 23:59:59",
            "0",
            "-1",
            "12.5",
            "1e400",
            "inf",
            "-inf",
            "nan",
            "²",
            "١٢",
            "9" * 5000,
            "ANSWERED",
            "no  answer",
            "BUSY",
            "1709259302.42",
            "pbx1-1709259302.42",
            "SIP/101-0000002a",
            "Local/101@from-queue-00000001;1",
            '"Nguyễn Văn A" <0912345678>',
            '\\"',
            '"',
            '""',
            "\ufeff",
            "\x00",
            "\r",
            "\n",
            ",",
        ]
    ),
    st.sampled_from(sorted(KNOWN_COLUMNS)).map(lambda name: name.upper()),
    st.text(max_size=12),
    st.integers(-(10**20), 10**20).map(str),
)


@st.composite
def csvish(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        fields = draw(st.lists(TOKENS, min_size=0, max_size=23))
        quoted = draw(st.booleans())
        lines.append(",".join(f'"{f}"' if quoted else f for f in fields))
    text = draw(st.sampled_from(["\n", "\r\n"])).join(lines)
    return text.encode("utf-8", errors="surrogatepass")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), ZONES)
def test_any_bytes(data: bytes, zone: ZoneInfo) -> None:
    _read(data, zone)


@settings(max_examples=400, deadline=None)
@given(csvish(), ZONES)
@example(b'"","0912","101","x","","","","","","2024-03-01 09:15:02","","","inf","0","BUSY",""', HCM)
@example(
    b'"","0912","101","x","","","","","","2024-03-01 09:15:02","","","1","0","BUSY","",'
    b'"","","","1709259302.42","\xc2\xb2"',
    HCM,
)
def test_anything_shaped_like_csv(data: bytes, zone: ZoneInfo) -> None:
    _read(data, zone)


# ---- rows as cdr_csv writes them read back to their fields ----------------------------

# Free text as PBXs fill it (names, dialplan data): commas, quotes and line breaks
# included; never `\\` (a `\\"` is read as an escaped quote), never surrounding blanks
# (fields are trimmed), never a column's name (a first row of names is a header).
FREE_TEXT = (
    st.text(
        alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàáạảãếệọủữ Ä0123456789,\"'<>@/;:-_.\n", max_size=16
    )
    .map(str.strip)
    .filter(lambda v: v.lower() not in KNOWN_COLUMNS and not UNIQUEID.match(v))
)
NUMBER = st.from_regex(r"\A\+?[0-9]{2,12}\Z")
UNIQUE = st.builds(
    lambda prefix, seconds, n: f"{prefix}{seconds}.{n}",
    st.sampled_from(["", "pbx1-", "asterisk.example-"]),
    st.integers(1_000_000_000, 4_000_000_000),
    st.integers(0, 10_000),
)
LAYOUTS: dict[str, tuple[str, ...]] = {  # what cdr_csv's options write after the 16
    "16": (),
    "17-uniqueid": ("uniqueid",),
    "17-userfield": ("userfield",),
    "18": ("uniqueid", "userfield"),
    "19": ("peeraccount", "linkedid", "sequence"),
    "20-uniqueid": ("uniqueid", "peeraccount", "linkedid", "sequence"),
    "21": ("uniqueid", "userfield", "peeraccount", "linkedid", "sequence"),
}
EARLIEST, LATEST = 946_771_200, 4_102_444_800  # 2000-01-02 .. 2100-01-01, epoch seconds


@dataclass(frozen=True)
class Written:
    values: dict[str, str]  # column -> the text written
    expected: CdrRow  # without its fingerprint


@st.composite
def cdr_rows(draw: st.DrawFn, zone: ZoneInfo) -> Written:
    start = draw(st.integers(EARLIEST, LATEST))
    wait, talk = draw(st.integers(0, 600)), draw(st.integers(0, 36_000))
    disposition = draw(st.sampled_from(sorted(DISPOSITIONS)))
    answered = disposition == "ANSWERED"
    answer = start + wait if answered else None
    end = (answer or start) + (talk if answered else wait)
    billsec = talk if answered else 0
    slash = draw(st.booleans())

    def moment(seconds: int | None) -> str:
        if seconds is None:
            return ""
        text = datetime.fromtimestamp(seconds, zone).strftime("%Y-%m-%d %H:%M:%S")
        return text.replace("-", "/") if slash else text

    sequence = draw(st.none() | st.integers(0, 10**6))
    values = {
        "accountcode": draw(FREE_TEXT),
        "src": draw(NUMBER),
        "dst": draw(NUMBER | st.sampled_from(["s", "h", ""])),
        "dcontext": draw(FREE_TEXT),
        "clid": draw(FREE_TEXT),
        "channel": draw(st.sampled_from(["SIP/101-0000002a", "PJSIP/trunk-00000001", ""])),
        "dstchannel": draw(st.sampled_from(["PJSIP/102-00000002", "Local/500@q-1;2", ""])),
        "lastapp": draw(st.sampled_from(["Dial", "Queue", "VoiceMail", "Playback", ""])),
        "lastdata": draw(FREE_TEXT),
        "start": moment(start),
        "answer": moment(answer),
        "end": moment(end),
        "duration": str(end - start),
        "billsec": str(billsec),
        # spelled as the PBX may: any case, blanks doubled; read back upper, one blank
        "disposition": draw(st.sampled_from([disposition, disposition.lower()])).replace(
            " ", draw(st.sampled_from([" ", "  "]))
        ),
        "amaflags": "DOCUMENTATION",
        "uniqueid": draw(UNIQUE),
        "userfield": draw(FREE_TEXT),
        "peeraccount": draw(FREE_TEXT),
        "linkedid": draw(UNIQUE | st.just("")),
        "sequence": "" if sequence is None else str(sequence),
    }
    expected = CdrRow(
        src=values["src"],
        dst=values["dst"],
        clid=values["clid"],
        channel=values["channel"],
        dstchannel=values["dstchannel"],
        dcontext=values["dcontext"],
        lastapp=values["lastapp"],
        lastdata=values["lastdata"],
        start_ms=start * 1000,
        answer_ms=None if answer is None else answer * 1000,
        end_ms=end * 1000,
        duration=end - start,
        billsec=billsec,
        disposition=disposition,
        accountcode=values["accountcode"],
        uniqueid=values["uniqueid"],
        userfield=values["userfield"],
        linkedid=values["linkedid"],
        peeraccount=values["peeraccount"],
        sequence=sequence,
    )
    return Written(values, expected)


def _csv(rows: list[list[str]], quote_all: bool) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return out.getvalue().encode()


def _as_written(written: Written, columns: tuple[str, ...]) -> CdrRow:
    """What reading the row back must give: only the columns written are known."""
    absent = {name: "" for name in ("uniqueid", "userfield", "peeraccount", "linkedid")} | {
        "sequence": None
    }
    kept = {name: value for name, value in absent.items() if name not in columns}
    return replace(written.expected, **kept)


@st.composite
def files(draw: st.DrawFn) -> tuple[ZoneInfo, tuple[str, ...], list[Written], bool]:
    zone = draw(ZONES)
    layout = LAYOUTS[draw(st.sampled_from(sorted(LAYOUTS)))]
    rows = draw(st.lists(cdr_rows(zone), min_size=1, max_size=3))
    return zone, (*BASE_COLUMNS, *layout), rows, draw(st.booleans())


@settings(max_examples=100, deadline=None)
@given(files())
def test_headerless_rows_read_back_to_their_fields(
    case: tuple[ZoneInfo, tuple[str, ...], list[Written], bool],
) -> None:
    zone, columns, rows, quote_all = case
    data = _csv([[w.values[c] for c in columns] for w in rows], quote_all)
    parsed = _read(data, zone)
    assert parsed is not None and parsed.errors == []
    assert [replace(r, fingerprint="") for r in parsed.rows] == [
        _as_written(w, columns) for w in rows
    ]
    # an import resumes after any record: reading on from its end gives the rest
    records = list(read_records(io.BytesIO(data)))
    assert [r.fields for r in records] == [[w.values[c] for c in columns] for w in rows]
    for index, record in enumerate(records):
        handle = io.BytesIO(data)
        handle.seek(record.end)
        rest = list(read_records(handle, first_line=record.line + 1))
        assert [r.fields for r in rest] == [r.fields for r in records[index + 1 :]]


@settings(max_examples=100, deadline=None)
@given(files(), st.randoms(use_true_random=False), st.booleans(), st.booleans())
def test_a_header_in_any_order_reads_the_same_rows(
    case: tuple[ZoneInfo, tuple[str, ...], list[Written], bool],
    rng: Random,
    calldate: bool,
    bom: bool,
) -> None:
    zone, columns, rows, quote_all = case
    headerless = _read(_csv([[w.values[c] for c in columns] for w in rows], quote_all), zone)
    shuffled = list(columns)
    rng.shuffle(shuffled)
    names = ["calldate" if calldate and c == "start" else c for c in shuffled]
    header = [n.upper() if i % 2 else n for i, n in enumerate(names)]
    data = _csv([header, *([w.values[c] for c in shuffled] for w in rows)], quote_all)
    with_header = _read(b"\xef\xbb\xbf" + data if bom else data, zone)
    assert headerless is not None and with_header is not None
    assert with_header.errors == []
    # the same rows, fingerprints (re-import keys) included
    assert with_header.rows == headerless.rows
