"""`POST /api/cdr`: calls from any system, in our own list-item shape, a batch at a time.

Each item is checked on its own and answered on its own, in order; the good ones are
stored even when others are refused, and every refused one is kept in the rejections
log with its reason and body. The whole batch is one transaction (with a SAVEPOINT per
call where needed, see ingest.bulk), and the tenant's directories are read once for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.answers import Answer
from callhistory.auth.routes import Caller, engine_of
from callhistory.calls import openapi
from callhistory.config import get_settings
from callhistory.db import writing
from callhistory.envelope import ApiError, ok
from callhistory.guards import read_limited
from callhistory.ingest import lookups, rejections
from callhistory.ingest.answers import BatchReport as BatchAnswer
from callhistory.ingest.bulk import Entry, store_calls
from callhistory.ingest.enrich import RecordingUrls, enrich
from callhistory.ingest.formats import items
from callhistory.ingest.formats.items import CheckedItem, FieldError, InvalidItem
from callhistory.ingest.rejections import STORE_FAILED, Refusal
from callhistory.ingest.store import Outcome
from callhistory.ops import count_ingested

router = APIRouter(tags=["ingest"])

MAX_ITEMS = 1000  # per request: one transaction stays short
MAX_BODY_BYTES = 16 * 1024 * 1024  # 1,000 items with long notes and recording links

_BODY = {
    "content": {
        "application/json": {
            "schema": {
                "type": "array",
                "maxItems": MAX_ITEMS,
                "items": items.CallItem.model_json_schema(),
            }
        }
    },
    "required": True,
}


@dataclass(frozen=True)
class ItemResult:
    index: int
    transaction_id: str | None
    status: str  # stored | updated | unchanged | rejected
    errors: tuple[FieldError, ...] = ()

    def payload(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "transaction_id": self.transaction_id,
            "status": self.status,
            "errors": list(self.errors),
        }


@dataclass
class BatchReport:
    results: list[ItemResult] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        return Counter(r.status for r in self.results)

    def reasons(self) -> Counter[str]:
        return Counter(r.errors[0]["code"] for r in self.results if r.errors)

    def payload(self) -> dict[str, Any]:
        counts = self.counts()
        return {
            "results": [r.payload() for r in self.results],
            **{s: counts.get(s, 0) for s in ("stored", "updated", "unchanged", "rejected")},
        }


def _json(raw: Any) -> bytes:
    try:
        return orjson.dumps(raw)
    except TypeError:
        return repr(raw).encode()


async def ingest_items(
    engine: AsyncEngine,
    tenant_id: str,
    raw_items: Sequence[Any],
    *,
    source: str,
    recordings: RecordingUrls,
    first_index: int = 0,
    where: Sequence[str] | None = None,
    query: str = "",
) -> BatchReport:
    """Check, record the refused, enrich and store the rest in one transaction.

    `where` names each item's origin (e.g. `file:line`) and `query` the import, for the
    rejections log.
    """
    report = BatchReport()
    refusals: list[Refusal] = []  # kept together at the end: one commit for all
    good: list[tuple[int, CheckedItem]] = []
    for offset, raw in enumerate(raw_items):
        index = first_index + offset
        try:
            good.append((index, items.check(raw)))
        except InvalidItem as exc:
            report.results.append(
                ItemResult(index, items.transaction_id_of(raw), "rejected", tuple(exc.errors))
            )
            refusals.append(
                Refusal(
                    source,
                    exc.code,
                    _detail(where, offset, str(exc)),
                    "application/json",
                    query,
                    _json(raw),
                )
            )
    outcomes = await store_checked(engine, tenant_id, [c for _, c in good], recordings)
    refused: list[tuple[int, CheckedItem]] = []
    for (index, checked), outcome in zip(good, outcomes, strict=True):
        if outcome is None:
            error = {"field": "item", "code": STORE_FAILED}
            report.results.append(ItemResult(index, checked.transaction_id, "rejected", (error,)))
            refused.append((index, checked))
        else:
            report.results.append(ItemResult(index, checked.transaction_id, outcome))
    count_ingested(outcomes)
    for index, _ in refused:
        offset = index - first_index
        refusals.append(
            Refusal(
                source,
                STORE_FAILED,
                _detail(where, offset, "the database refused the call"),
                "application/json",
                query,
                _json(raw_items[offset]),
            )
        )
    await rejections.record_many(engine, tenant_id, refusals)
    report.results.sort(key=lambda r: r.index)
    return report


def _detail(where: Sequence[str] | None, offset: int, text: str) -> str:
    return f"{where[offset]}: {text}" if where else text


async def store_checked(
    engine: AsyncEngine,
    tenant_id: str,
    checked: Sequence[CheckedItem],
    recordings: RecordingUrls,
) -> list[Outcome | None]:
    """Enrich (the directories read once) and store good items in one transaction."""
    if not checked:
        return []
    async with writing(engine) as conn:
        cache = await lookups.load(conn, tenant_id, [item.call for item in checked])
        entries = []
        for item in checked:
            record = await enrich(
                conn, tenant_id, item.call, recordings, pbx_type=item.pbx_type, cache=cache
            )
            entries.append(Entry(record, item.note, item.tags, item.overrides_for(record)))
        return await store_calls(conn, tenant_id, entries)


def parse_batch(body: bytes) -> list[Any]:
    """The JSON array of a batch, or the error that refuses the whole batch."""
    if not body.strip():
        raise ApiError(400, "request_body_required")
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json") from exc
    if not isinstance(parsed, list):
        raise ApiError(400, "body_must_be_an_array")
    if len(parsed) > MAX_ITEMS:
        raise ApiError(413, "too_many_items")
    return parsed


@router.post(
    "/api/cdr",
    summary="Store a batch of calls (our list-item shape), each answered on its own",
    response_model=Answer[BatchAnswer],
    openapi_extra={"requestBody": _BODY},
    responses={
        **openapi.ERRORS,
        413: {"description": "`too_many_items` (over 1,000) or `payload_too_large`."},
    },
)
async def post_batch(request: Request, caller: Caller) -> Any:
    engine = engine_of(request)
    content_type = request.headers.get("content-type", "")
    body = b""
    try:
        body = await read_limited(request, MAX_BODY_BYTES)
        batch = parse_batch(body)
    except ApiError as exc:
        await rejections.record(
            engine,
            caller.tenant_id,
            source="batch",
            reason=exc.code,
            content_type=content_type,
            body=body,
        )
        raise
    recordings = RecordingUrls(get_settings().recording_url_template)
    report = await ingest_items(
        engine, caller.tenant_id, batch, source="batch", recordings=recordings
    )
    return ok(report.payload())
