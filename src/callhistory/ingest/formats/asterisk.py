"""Asterisk `cdr_csv` files (Master.csv): reading the rows (asterisk_merge: a call of them).

Pure parsing, no database. The module writes one row per CDR with no header:

    accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp, lastdata,
    start, answer, end, duration, billsec, disposition, amaflags,
    [uniqueid], [userfield], [peeraccount, linkedid, sequence]

(the bracketed columns with `loguniqueid`, `loguserfield`, `newcdrcolumns`). Exports
from a CDR database usually have a header row naming the columns, in any order
(`calldate` for `start`). Text is quoted with `"` and a quote inside is doubled; some
tools write `\\"` instead: both are read. Times are local wall-clock strings
(`YYYY-MM-DD HH:MM:SS`) in the PBX's zone, given by the caller.

Rows of one call share a `linkedid` (newer builds), else a `uniqueid`; without either
a row is a call of its own, keyed by a hash of its content so a re-import finds it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

BASE_COLUMNS: tuple[str, ...] = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
)
NEW_COLUMNS: tuple[str, ...] = ("peeraccount", "linkedid", "sequence")
KNOWN_COLUMNS = frozenset(
    (*BASE_COLUMNS, "uniqueid", "userfield", *NEW_COLUMNS, "recordingfile", "calldate")
)
ALIASES = {"calldate": "start"}

MAX_RECORD_LINES = 50  # a quoted field left open must not swallow the rest of the file
MAX_RECORD_BYTES = 64 * 1024
MAX_ID = 64  # the length of a transaction id
MAX_SECONDS = 2_147_483_647  # the integer columns' range
MAX_SEQUENCE_DIGITS = 18  # a BIGINT's
_UNIQUEID = re.compile(r"^(?:[\w.\-]+-)?\d{9,}\.\d+$")  # [systemname-]epoch.sequence
_EARLIEST_MS = 946_684_800_000  # 2000-01-01


class AsteriskError(ValueError):
    """A row (or a whole file) that cannot be read; `code` is a stable snake_case reason."""

    def __init__(self, code: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.line = line


# ---- records: the file's CSV, with where each record ends -----------------------------


@dataclass(frozen=True)
class RawRecord:
    fields: list[str]
    line: int  # the file line the record starts on (1-based)
    end: int  # the byte offset just after it: where to resume
    text: str  # as read, for the rejections log
    terminated: bool = True  # ends with a newline (else it may still be being written)


def _open_quote(data: bytes) -> bool:
    """Whether a quoted field is still open at the end of `data` (`\\"` is not a quote)."""
    return (data.count(b'"') - data.count(b'\\"')) % 2 == 1


def _split(text: str) -> list[str]:
    if '\\"' in text:
        reader = csv.reader(io.StringIO(text, newline=""), escapechar="\\", doublequote=True)
    else:
        reader = csv.reader(io.StringIO(text, newline=""))
    fields: list[str] = []
    for row in reader:
        fields.extend(row)
    return [field.strip() for field in fields]


def read_records(handle: BinaryIO, first_line: int = 1) -> Iterator[RawRecord]:
    """The CSV records from the handle's position; blank lines are skipped.

    A record may span lines (a quoted field holding a newline); one whose quote never
    closes is cut back to its first line, which then fails to parse on its own.
    """
    line = first_line - 1
    while True:
        start = handle.tell()
        first = handle.readline()
        if not first:
            return
        line += 1
        begin_line, data, lines = line, first, 1
        while _open_quote(data) and lines < MAX_RECORD_LINES and len(data) < MAX_RECORD_BYTES:
            more = handle.readline()
            if not more:
                break
            data += more
            lines += 1
        if _open_quote(data) and lines > 1:
            handle.seek(start + len(first))
            data, lines = first, 1
        line = begin_line + lines - 1
        text = data.decode("utf-8", errors="replace")
        if start == 0:
            text = text.removeprefix("\ufeff")
        stripped = text.rstrip("\r\n")
        if not stripped.strip():
            continue
        try:
            fields = _split(stripped)
        except csv.Error:
            fields = [stripped]  # fails the column count, and is kept as a rejection
        yield RawRecord(fields, begin_line, handle.tell(), stripped, data.endswith(b"\n"))


# ---- layout: which column is which ---------------------------------------------------


def header_columns(fields: Sequence[str]) -> tuple[str, ...] | None:
    """The columns a header row names, or None when the row is data."""
    names = [ALIASES.get(f.strip().lower(), f.strip().lower()) for f in fields]
    known = [n for n in names if n in KNOWN_COLUMNS]
    if "start" not in names or len(known) < 3:
        return None
    if "src" not in names and "clid" not in names:
        raise AsteriskError("header_missing_columns", "the header names neither src nor clid")
    if len(set(known)) != len(known):
        raise AsteriskError("header_repeated_column", "a column appears twice in the header")
    return tuple(names)


def _looks_like_uniqueid(value: str) -> bool:
    return bool(_UNIQUEID.match(value))


def headerless_columns(fields: Sequence[str]) -> tuple[str, ...]:
    """The columns of a header-less row, from its length (cdr_csv's options)."""
    count = len(fields)
    extra = count - len(BASE_COLUMNS)
    if extra in (0, 3):
        middle: tuple[str, ...] = ()
    elif extra in (1, 4):
        middle = ("uniqueid",) if _looks_like_uniqueid(fields[16]) else ("userfield",)
    elif extra in (2, 5):
        middle = ("uniqueid", "userfield")
    else:
        raise AsteriskError(
            "wrong_column_count", f"{count} columns; cdr_csv writes 16 to 21 without a header"
        )
    tail = NEW_COLUMNS if extra >= 3 else ()
    if tail:
        # cdr_csv writes peeraccount, linkedid; some tools swap them: a linkedid looks
        # like a uniqueid, a peer account does not.
        peer, linked = fields[count - 3], fields[count - 2]
        if _looks_like_uniqueid(peer) and not _looks_like_uniqueid(linked):
            tail = ("linkedid", "peeraccount", "sequence")
    return (*BASE_COLUMNS, *middle, *tail)


# ---- rows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CdrRow:
    """One CDR row, its times as epoch ms; JSON-serialisable (see `document`)."""

    src: str
    dst: str
    clid: str
    channel: str
    dstchannel: str
    dcontext: str
    lastapp: str
    lastdata: str
    start_ms: int
    answer_ms: int | None
    end_ms: int
    duration: int
    billsec: int
    disposition: str
    accountcode: str = ""
    uniqueid: str = ""
    userfield: str = ""
    linkedid: str = ""
    peeraccount: str = ""
    sequence: int | None = None
    recordingfile: str = ""
    fingerprint: str = ""  # a hash of the row's text, the same for the same row

    @property
    def call_key(self) -> str:
        """The call the row belongs to: linkedid, else uniqueid, else the row itself."""
        key = self.linkedid or self.uniqueid
        if not key:
            return f"ast-{self.fingerprint[:32]}"
        if len(key) > MAX_ID:
            return f"ast-{hashlib.sha1(key.encode()).hexdigest()}"  # noqa: S324 - an id, not a secret
        return key

    @property
    def answered(self) -> bool:
        return self.disposition == "ANSWERED"

    def document(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> CdrRow:
        return cls(**{k: v for k, v in document.items() if k in _ROW_FIELDS})


_ROW_FIELDS = frozenset(CdrRow.__dataclass_fields__)


def _time(value: str, zone: ZoneInfo, name: str, line: int | None) -> int | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("/", "-"))
    except ValueError as exc:
        raise AsteriskError(f"{name}_invalid", f"{name} {value!r} is not a date", line) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    ms = int(moment.timestamp() * 1000)
    if ms < _EARLIEST_MS:
        raise AsteriskError(f"{name}_invalid", f"{name} {value!r} is before 2000", line)
    return ms


def _seconds(value: str, name: str, line: int | None) -> int:
    if not value:
        return 0
    try:
        seconds = round(float(value))
    except (ValueError, OverflowError) as exc:  # nan, inf, 1e400: not a number of seconds
        raise AsteriskError(f"{name}_invalid", f"{name} {value!r} is not a number", line) from exc
    if seconds < 0:
        raise AsteriskError(f"{name}_invalid", f"{name} {value!r} is negative", line)
    if seconds > MAX_SECONDS:
        raise AsteriskError(f"{name}_invalid", f"{name} {value!r} is too large", line)
    return seconds


def _sequence(value: str) -> int | None:
    """cdr_csv's `sequence`, when it is one (ASCII digits: `²`.isdigit() too)."""
    if value.isascii() and value.isdigit() and len(value) <= MAX_SEQUENCE_DIGITS:
        return int(value)
    return None


def fingerprint(values: Mapping[str, str]) -> str:
    """The same hash for the same row, with or without a header, in any column order."""
    canonical = "\x1f".join(values.get(name, "") for name in sorted(KNOWN_COLUMNS))
    return hashlib.sha1(canonical.encode()).hexdigest()  # noqa: S324 - an id, not a secret


def parse_row(
    fields: Sequence[str], columns: Sequence[str], zone: ZoneInfo, line: int | None = None
) -> CdrRow:
    """One row, or AsteriskError with the first problem found."""
    if len(fields) != len(columns):
        raise AsteriskError(
            "wrong_column_count", f"{len(fields)} columns, the layout has {len(columns)}", line
        )
    values = {name: value for name, value in zip(columns, fields, strict=True)}
    if "\x00" in "".join(values.values()):
        raise AsteriskError("nul_byte", "the row holds a NUL byte", line)
    start = _time(values.get("start", ""), zone, "start", line)
    if start is None:
        raise AsteriskError("start_missing", "the row has no start time", line)
    duration = _seconds(values.get("duration", ""), "duration", line)
    billsec = _seconds(values.get("billsec", ""), "billsec", line)
    end = _time(values.get("end", ""), zone, "end", line) or start + duration * 1000
    if end < start:
        raise AsteriskError("end_before_start", "the row ends before it starts", line)
    disposition = " ".join(values.get("disposition", "").upper().split())
    answer = _time(values.get("answer", ""), zone, "answer", line)
    if answer is None and disposition == "ANSWERED":
        answer = end - billsec * 1000  # database exports carry calldate only
    if answer is not None and disposition != "ANSWERED" and billsec == 0:
        answer = None  # Asterisk sets answer = start on some unanswered rows
    src = values.get("src", "")
    clid = values.get("clid", "")
    if not src and not values.get("dst", "") and not clid:
        raise AsteriskError("numbers_missing", "the row has no src, dst or clid", line)
    return CdrRow(
        src=src,
        dst=values.get("dst", ""),
        clid=clid,
        channel=values.get("channel", ""),
        dstchannel=values.get("dstchannel", ""),
        dcontext=values.get("dcontext", ""),
        lastapp=values.get("lastapp", ""),
        lastdata=values.get("lastdata", ""),
        start_ms=start,
        answer_ms=answer,
        end_ms=end,
        duration=duration,
        billsec=billsec,
        disposition=disposition,
        accountcode=values.get("accountcode", ""),
        uniqueid=values.get("uniqueid", ""),
        userfield=values.get("userfield", ""),
        linkedid=values.get("linkedid", ""),
        peeraccount=values.get("peeraccount", ""),
        sequence=_sequence(values.get("sequence", "")),
        recordingfile=values.get("recordingfile", ""),
        fingerprint=fingerprint(values),
    )


class CsvReader:
    """Rows of one file: its header (if any) is read first, then rows from anywhere."""

    def __init__(self, zone: ZoneInfo, header: tuple[str, ...] | None = None) -> None:
        self.zone = zone
        self.header = header

    def detect(self, first: RawRecord) -> bool:
        """Take the file's first record; True when it is a header (not a row)."""
        found = header_columns(first.fields)
        if found is not None:
            self.header = found
            return True
        return False

    def row(self, record: RawRecord) -> CdrRow:
        try:
            columns = self.header or headerless_columns(record.fields)
            return parse_row(record.fields, columns, self.zone, record.line)
        except AsteriskError as exc:
            exc.line = record.line
            raise
