"""`GET /api/call_transaction/report`: totals by direction, by disposition, and local calls."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.answers import Answer
from callhistory.auth.routes import ScopedCaller, engine_of
from callhistory.calls import openapi, params, queries, totals
from callhistory.calls.params import CallFilter
from callhistory.calls.quality import quality_filters
from callhistory.config import get_settings
from callhistory.envelope import ok
from callhistory.reports.answers import CallReport
from callhistory.schema import calls

router = APIRouter(tags=["reports"])


async def _counts(
    conn: AsyncConnection, tenant_id: str, call_filter: CallFilter
) -> dict[tuple[str, str], tuple[int, int]]:
    """(direction, disposition) -> (calls, summed bill_sec), in one grouped query."""
    from_totals = await totals.by_direction_and_disposition(conn, tenant_id, call_filter)
    if from_totals is not None:  # exact: whole hours from the maintained totals
        return from_totals
    conds = queries.where(tenant_id, call_filter)
    rows = await conn.execute(
        select(
            calls.c.direction,
            calls.c.disposition,
            func.count(),
            func.coalesce(func.sum(calls.c.bill_sec), 0),
        )
        .where(*conds)
        .group_by(calls.c.direction, calls.c.disposition)
    )
    return {(d, s): (int(n), int(t)) for d, s, n, t in rows}


def summarise(counts: dict[tuple[str, str], tuple[int, int]]) -> dict[str, Any]:
    """The source's report payload. Local calls are counted apart, as the source does."""
    count: dict[str, int] = defaultdict(int)
    time: dict[str, int] = defaultdict(int)
    by_disposition: dict[tuple[str, str], int] = defaultdict(int)
    for (direction, disposition), (n, seconds) in counts.items():
        count[direction] += n
        time[direction] += seconds
        by_disposition[(disposition, direction)] += n
    external = ("inbound", "outbound")
    return {
        "categorized_by_direction": [
            {"_id": d, "total_count": count[d], "total_time": time[d]} for d in external
        ],
        "categorized_by_disposition": [
            {
                "_id": s,
                "total_count": sum(by_disposition[(s, d)] for d in external),
                "total_outbound": by_disposition[(s, "outbound")],
                "total_inbound": by_disposition[(s, "inbound")],
            }
            for s in ("cancelled", "answered")
        ],
        "categorized_by_local_direction": {
            "total_call": count["local"],
            "total_call_answer": by_disposition[("answered", "local")],
        },
    }


@router.get(
    "/api/call_transaction/report",
    summary="Totals by direction and disposition",
    response_model=Answer[CallReport],
    openapi_extra={"parameters": openapi.REPORT_PARAMETERS},
    responses=openapi.ERRORS,
)
async def call_report(request: Request, caller: ScopedCaller) -> Any:
    q = request.query_params
    params.check_brackets(q, params.REPORT_ARRAYS)
    settings = get_settings()
    start, end = params.date_window(
        q.get("from_date"), q.get("to_date"), settings.max_window_days, default_days=30
    )
    call_filter = CallFilter(
        from_ms=start,
        to_ms=end,
        hotlines=params.hotline_numbers(params.query_array(q, "numbers")),
        sip_users=params.query_array(q, "sip_user"),
        agents=params.emails(params.query_array(q, "agents")),
        **quality_filters(lambda name: params.query_array(q, name), q.get),
        agent_scope=caller.scope,
    )
    async with engine_of(request).connect() as conn:
        counts = await _counts(conn, caller.tenant_id, call_filter)
    return ok(summarise(counts))
