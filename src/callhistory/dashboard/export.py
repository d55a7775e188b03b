"""Exports of the filtered view, streamed: CSV and XLSX, a batch of calls at a time.

Calls are read in keyset order (newest first, as the API lists them) in batches of
BATCH, so memory stays flat whatever the number of rows. The XLSX writer is ours: an
.xlsx is a zip of a few XML parts, and the standard library's zipfile writes to an
unseekable stream (with data descriptors), so the sheet is written row by row and each
compressed chunk is handed on at once. Inline strings avoid a shared-strings table,
which would need every string in memory before the first byte could be sent.

Both writers pass every text cell through exports.cells, so a note, a tag, a name or a
number the PBX sent that starts like a formula (`=`, `+`, `-`, `@`, ...) is written with a
single quote in front and no spreadsheet runs it; numbers stay numbers (docs/exports.md,
"Spreadsheet formulas").
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.calls import queries
from callhistory.calls.params import CallFilter
from callhistory.calls.queries import CallView
from callhistory.dashboard import i18n
from callhistory.exports import cells
from callhistory.schema import calls

BATCH = 1000
COLUMNS = (
    "transaction_id",
    "created_date",
    "local_time",
    "direction",
    "disposition",
    "source_number",
    "destination_number",
    "hotline",
    "customer",
    "agents",
    "duration",
    "bill_sec",
    "tag",
    "note",
    "recording_file",
)
NUMERIC = {"created_date", "duration", "bill_sec"}


Progress = Callable[[int], None]  # told how many calls each batch held


def _local(epoch_ms: int, time_zone: str, date_format: str | None) -> str:
    # Background exports (callhistory.exports) choose their own strftime format.
    if date_format is None:
        return i18n.local_time(epoch_ms, time_zone)
    return datetime.fromtimestamp(epoch_ms / 1000, ZoneInfo(time_zone)).strftime(date_format)


def row_of(view: CallView, time_zone: str, date_format: str | None = None) -> list[Any]:
    row = view.row
    return [
        row.transaction_id,
        row.created_date,
        _local(row.created_date, time_zone, date_format),
        row.direction,
        row.disposition,
        row.source_number,
        row.destination_number,
        row.hotline or "",
        row.customer_name or "",
        "; ".join(u.row.full_name for u in view.users),
        row.duration,
        row.bill_sec,
        "; ".join(name for _, name in view.tags),
        row.note or "",
        row.recording_file or "",
    ]


async def views(
    engine: AsyncEngine, tenant_id: str, f: CallFilter
) -> AsyncIterator[list[CallView]]:
    """The filter's calls, a batch at a time, each batch on a short-lived connection."""
    after: tuple[int, str] | None = None
    while True:
        conds = queries.where(tenant_id, f)
        if after is not None:
            conds.append(
                or_(
                    calls.c.created_date < after[0],
                    and_(calls.c.created_date == after[0], calls.c.transaction_id < after[1]),
                )
            )
        async with engine.connect() as conn:
            keys = (
                await conn.execute(
                    select(calls.c.created_date, calls.c.transaction_id)
                    .where(*conds)
                    .order_by(calls.c.created_date.desc(), calls.c.transaction_id.desc())
                    .limit(BATCH)
                )
            ).all()
            if not keys:
                return
            ids = [k.transaction_id for k in keys]
            found = {v.row.transaction_id: v for v in await queries.by_ids(conn, tenant_id, ids)}
        yield [found[i] for i in ids if i in found]
        after = (int(keys[-1].created_date), str(keys[-1].transaction_id))
        if len(keys) < BATCH:
            return


async def csv_stream(
    engine: AsyncEngine,
    tenant_id: str,
    f: CallFilter,
    time_zone: str,
    date_format: str | None = None,
    progress: Progress | None = None,
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # A BOM so Excel opens the UTF-8 file with its Vietnamese intact.
    yield "\ufeff".encode()
    writer.writerow(COLUMNS)
    async for batch in views(engine, tenant_id, f):
        for view in batch:
            writer.writerow(cells.row(row_of(view, time_zone, date_format)))
        if progress is not None:
            progress(len(batch))
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


class _Pipe(io.RawIOBase):
    """A write-only, unseekable sink whose bytes are taken out as they come."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        return out


_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
_PKG = "http://schemas.openxmlformats.org/package/2006"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_CONTENT_TYPES = (
    f'{_XML}<Types xmlns="{_PKG}/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_SML}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_SML}.worksheet+xml"/>'
    "</Types>"
)
_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    f'{_XML}<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    f'xmlns:r="{_REL}"><sheets><sheet name="calls" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)
_SHEET_HEAD = (
    f"{_XML}"
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_SHEET_TAIL = "</sheetData></worksheet>"


_CR = {"\r": "&#13;"}


def _clean(text: str) -> str:
    # XML 1.0 cannot hold most control characters, whatever the escaping.
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)


def xlsx_row(values: list[Any]) -> str:
    parts = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float):
            # Quoted after cleaning: what the sheet holds is what must not start a formula.
            # &#13;: a bare CR in XML text would be read back as a line feed.
            text = escape(cells.neutralise(_clean(str(value))), _CR)
            parts.append(f'<c t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>')
        else:
            parts.append(f"<c><v>{value}</v></c>")
    return f"<row>{''.join(parts)}</row>"


def _xlsx_parts() -> Iterator[tuple[str, str]]:
    yield "[Content_Types].xml", _CONTENT_TYPES
    yield "_rels/.rels", _RELS
    yield "xl/workbook.xml", _WORKBOOK
    yield "xl/_rels/workbook.xml.rels", _WORKBOOK_RELS


async def xlsx_stream(
    engine: AsyncEngine,
    tenant_id: str,
    f: CallFilter,
    time_zone: str,
    date_format: str | None = None,
    progress: Progress | None = None,
) -> AsyncIterator[bytes]:
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as book:
        for name, text in _xlsx_parts():
            book.writestr(name, text)
        yield pipe.take()
        # force_zip64: the sheet's size is unknown up front and may pass 4 GiB.
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write((_SHEET_HEAD + xlsx_row(list(COLUMNS))).encode())
            async for batch in views(engine, tenant_id, f):
                sheet.write(
                    "".join(xlsx_row(row_of(v, time_zone, date_format)) for v in batch).encode()
                )
                if progress is not None:
                    progress(len(batch))
                yield pipe.take()
            sheet.write(_SHEET_TAIL.encode())
    yield pipe.take()
