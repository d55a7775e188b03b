"""One call from its Asterisk CDR rows, the same whatever order they came in: the row of
the originating channel speaks for the call, answered rows say who answered."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from callhistory.carriers import is_external
from callhistory.ingest.formats.asterisk import AsteriskError, CdrRow, CsvReader, read_records
from callhistory.ingest.formats.call import MergedCall

# disposition -> (hangup_cause, hangup_cause_q850, dial_status as Asterisk's DIALSTATUS)
DISPOSITIONS: dict[str, tuple[str, int, str]] = {
    "ANSWERED": ("NORMAL_CLEARING", 16, "ANSWER"),
    "NO ANSWER": ("NO_ANSWER", 19, "NOANSWER"),
    "BUSY": ("USER_BUSY", 17, "BUSY"),
    "FAILED": ("CALL_REJECTED", 21, "CHANUNAVAIL"),
    "CONGESTION": ("NORMAL_CIRCUIT_CONGESTION", 34, "CONGESTION"),
}

_CHANNEL = re.compile(r"^[A-Za-z0-9_]+/(?P<resource>.+?)(?:-[0-9a-fA-F]+)?(?:;\d+)?$")
_EXTENSION = re.compile(r"^\d{2,10}$")
_CLID_NUMBER = re.compile(r"<([^<>]*)>\s*$")
_PLACEHOLDER_DST = frozenset(("", "s", "h", "i", "t"))  # dialplan extensions, not numbers


def extension_of(channel: str) -> str | None:
    """The agent's extension in a channel name: `SIP/101-0000002a`, `PJSIP/101-…`,
    `Local/101@from-queue-…;1`; None for trunks and other channels."""
    found = _CHANNEL.match(channel.strip())
    if not found:
        return None
    resource = found.group("resource").split("@", 1)[0]
    if not _EXTENSION.match(resource) or is_external(resource):
        return None
    return resource


def _number_of(row: CdrRow) -> str:
    if row.src:
        return row.src
    found = _CLID_NUMBER.search(row.clid)
    return found.group(1).strip() if found else ""


def _ordered(rows: Sequence[CdrRow]) -> list[CdrRow]:
    """The row that speaks for the call first: the originating channel's (its uniqueid is
    the linkedid), then by start, sequence, uniqueid."""
    return sorted(
        rows,
        key=lambda r: (
            not (r.linkedid and r.uniqueid == r.linkedid),
            r.start_ms,
            r.sequence if r.sequence is not None else 0,
            r.uniqueid,
            r.fingerprint,
        ),
    )


def _queue(rows: Iterable[CdrRow]) -> str | None:
    for row in rows:
        if row.lastapp.lower() == "queue" and row.lastdata:
            name = row.lastdata.split(",", 1)[0].strip()
            if name:
                return name[:32]
    return None


def merge_rows(rows: Sequence[CdrRow]) -> MergedCall:
    """One call from all its rows, whatever order they came in."""
    if not rows:
        raise ValueError("a call has at least one row")
    ordered = _ordered(rows)
    main = ordered[0]
    answered_rows = [r for r in ordered if r.answered]
    answered = bool(answered_rows)
    start = min(r.start_ms for r in rows)
    end = max(r.end_ms for r in rows)
    answers = [r.answer_ms for r in answered_rows if r.answer_ms is not None]
    answer = min(answers) if answers else None
    last = max(ordered, key=lambda r: (r.end_ms, r.sequence or 0))
    outcome = "ANSWERED" if answered else last.disposition
    cause = DISPOSITIONS.get(outcome)
    by_answer = sorted(answered_rows, key=lambda r: r.answer_ms or 0)
    candidates = [
        *(r.dstchannel for r in by_answer),
        main.channel,
        *(r.channel for r in ordered),
        *(r.dstchannel for r in ordered),
    ]
    extensions = tuple(dict.fromkeys(e for e in map(extension_of, candidates) if e))
    destination = next((r.dst for r in ordered if r.dst not in _PLACEHOLDER_DST), main.dst)
    recording = next((r.recordingfile for r in ordered if r.recordingfile), None)
    return MergedCall(
        call_id=main.call_key,
        caller_number=_number_of(main) or next((_number_of(r) for r in ordered), ""),
        destination_number=destination,
        start_ms=start,
        answer_ms=answer,
        end_ms=end,
        bill_sec=max((r.billsec for r in answered_rows), default=0),
        wait_sec=round((answer - start) / 1000) if answer is not None else 0,
        hold_sec=0,
        answered=answered,
        hangup_cause=cause[0] if cause else None,
        hangup_cause_q850=cause[1] if cause else None,
        dial_status=cause[2] if cause else None,
        mos=None,
        extensions=extensions,
        sip_from_user=None,
        domain=None,
        queue=_queue(ordered),
        recording_path=recording,
        record_seconds=None,
        voicemail=any(r.lastapp.lower() == "voicemail" for r in rows),
        voicemail_path=None,
        is_auto_call=False,
        outbound_caller_id=None,
        # Asterisk's own seconds, when its row spans the whole call
        duration=main.duration if (main.start_ms, main.end_ms) == (start, end) else None,
    )


def group(rows: Iterable[CdrRow]) -> dict[str, list[CdrRow]]:
    """Rows by call, in the order the calls first appear."""
    calls: dict[str, list[CdrRow]] = {}
    for row in rows:
        calls.setdefault(row.call_key, []).append(row)
    return calls


@dataclass
class ParsedFile:
    rows: list[CdrRow]
    errors: list[AsteriskError]

    @property
    def calls(self) -> list[MergedCall]:
        return [merge_rows(rows) for rows in group(self.rows).values()]


def parse_csv(data: bytes, zone: ZoneInfo) -> ParsedFile:
    """A whole file in memory (small files, tests); imports stream with `read_records`."""
    reader = CsvReader(zone)
    parsed = ParsedFile([], [])
    for index, record in enumerate(read_records(io.BytesIO(data))):
        if index == 0 and reader.detect(record):
            continue
        try:
            parsed.rows.append(reader.row(record))
        except AsteriskError as exc:
            parsed.errors.append(exc)
    return parsed
