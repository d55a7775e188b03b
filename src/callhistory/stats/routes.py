"""`GET /api/stats/agents` and `GET /api/stats/queues` (our additions, docs/stats.md)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.datastructures import QueryParams

from callhistory.answers import Answer
from callhistory.auth.keys import tenant_time_zone
from callhistory.auth.routes import Caller, ScopedCaller, engine_of
from callhistory.calls import params
from callhistory.calls.params import CallFilter
from callhistory.envelope import ok, validation_error
from callhistory.schema import queues
from callhistory.stats import openapi, queries
from callhistory.stats.answers import AgentStats, QueueStats
from callhistory.stats.buckets import INTERVALS, Interval, Step, sql_step
from callhistory.stats.lines import Line, lines, shown

router = APIRouter(tags=["stats"])
MAX_DAYS = 92  # a quarter: weeks make sense, a query stays a window's


def _interval(raw: str | None) -> Interval | None:
    if raw in (None, ""):
        return None
    for interval in INTERVALS:
        if raw == interval:
            return interval
    raise validation_error("interval", "invalid_choice")


def _window(q: QueryParams, arrays: tuple[str, ...], scope: str | None) -> CallFilter:
    params.check_brackets(q, arrays)
    start, end = params.date_window(q.get("from_date"), q.get("to_date"), MAX_DAYS, 30)
    return CallFilter(from_ms=start, to_ms=end, agent_scope=scope)


def _step(zone: str, f: CallFilter, interval: Interval | None) -> Step | None:
    return sql_step(ZoneInfo(zone), f.from_ms, f.to_ms, interval)


def _frame(f: CallFilter, interval: Interval | None, zone: str) -> dict[str, Any]:
    return {"from_date": f.from_ms, "to_date": f.to_ms, "interval": interval, "time_zone": zone}


def _agent(line: Line) -> dict[str, Any]:
    email, sip_user = line.key
    full_name, user_uuid = line.extra
    return {
        "agent": {
            "email": email,
            "sip_user": sip_user,
            "full_name": full_name or "",
            "user_uuid": user_uuid,
        }
    }


@router.get(
    "/api/stats/agents",
    summary="Each agent's calls, answered, missed, talk and handle time, score, by bucket",
    response_model=Answer[AgentStats],
    openapi_extra={"parameters": openapi.AGENT_PARAMETERS},
    responses=openapi.ERRORS,
)
async def agent_stats(request: Request, caller: ScopedCaller) -> Any:
    q = request.query_params
    f = _window(q, ("agents",), caller.scope)
    interval = _interval(q.get("interval"))
    emails = params.emails(params.query_array(q, "agents"))
    async with engine_of(request).connect() as conn:
        zone = await tenant_time_zone(conn, caller.tenant_id)
        step = _step(zone, f, interval)
        rows = await queries.agent_rows(conn, caller.tenant_id, f, emails, step)
    items = [shown(line, _agent) for line in lines(rows, ZoneInfo(zone), interval)]
    return ok({**_frame(f, interval, zone), "items": items})


@router.get(
    "/api/stats/queues",
    summary="Each queue's calls, answered, missed, waits, talk and handle time, by bucket",
    response_model=Answer[QueueStats],
    openapi_extra={"parameters": openapi.QUEUE_PARAMETERS},
    responses=openapi.ERRORS,
)
async def queue_stats(request: Request, caller: Caller) -> Any:
    q = request.query_params
    f = replace(
        _window(q, ("queue_destination",), None),
        queues=params.query_array(q, "queue_destination"),
    )
    interval = _interval(q.get("interval"))
    async with engine_of(request).connect() as conn:
        zone = await tenant_time_zone(conn, caller.tenant_id)
        rows = await queries.queue_rows(conn, caller.tenant_id, f, _step(zone, f, interval))
        named = await conn.execute(
            select(queues.c.number, queues.c.name).where(queues.c.tenant_id == caller.tenant_id)
        )
        names = {str(number): str(name) for number, name in named}

    def queue(line: Line) -> dict[str, Any]:
        (number,) = line.key
        return {"queue": number, "name": names.get(number, "")}

    items = [shown(line, queue) for line in lines(rows, ZoneInfo(zone), interval)]
    return ok({**_frame(f, interval, zone), "items": items})
