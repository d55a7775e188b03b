"""What operators and their tools need: health and readiness probes, Prometheus metrics,
a request id on every answer and in every log line, JSON logs."""

from __future__ import annotations

import collections
import contextvars
import json
import logging
import secrets
import time
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callhistory.answers import Answer, Health, Readiness
from callhistory.db import current_revision, head_revision
from callhistory.envelope import ApiError, ok

router = APIRouter(tags=["operations"])
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

REQUESTS = Counter(
    "callhistory_requests_total", "HTTP requests by route and status", ["method", "route", "status"]
)
LATENCY = Histogram(
    "callhistory_request_seconds",
    "HTTP request latency by route",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INGESTED = Counter("callhistory_ingested_calls_total", "Calls ingested, by outcome", ["outcome"])
REJECTED = Counter("callhistory_rejected_total", "Ingest refusals, by reason", ["reason"])


def count_ingested(outcomes: Iterable[str | None]) -> None:
    """Each outcome counted (None, a refused call, is counted as a rejection elsewhere).
    One `labels()` per distinct outcome: it takes a lock and builds a key each time, a
    fifteenth of a 1,000-call batch's CPU when called per call."""
    _count(INGESTED, outcomes)


def count_rejected(reasons: Iterable[str]) -> None:
    _count(REJECTED, reasons)


def _count(metric: Counter, values: Iterable[str | None]) -> None:
    for value, times in collections.Counter(v for v in values if v is not None).items():
        metric.labels(value).inc(times)


_MAX_ID = 128


@router.get("/healthz", summary="The process is up", response_model=Answer[Health])
async def healthz() -> Any:
    return ok({"status": "up"})


@router.get(
    "/readyz",
    summary="The database is reachable and its schema is current",
    response_model=Answer[Readiness],
    responses={
        503: {
            "description": "Not ready: `database_unavailable` (unreachable) or "
            "`migrations_pending` (its schema is not this version's)."
        }
    },
)
async def readyz(request: Request) -> Any:
    try:
        revision = await current_revision(request.app.state.engine)
    except Exception as exc:  # any failure to reach the database means not ready
        raise ApiError(503, "database_unavailable") from exc
    if revision != head_revision():
        raise ApiError(503, "migrations_pending")
    return ok({"status": "ready", "schema": revision})


@router.get("/metrics", summary="Prometheus metrics of this process", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class RequestContext:
    """Gives each request an id (the caller's `X-Request-ID` when it sends a sane one),
    echoes it, and counts the request by route template (never by raw path, whose ids
    would make the metrics unbounded)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given if given and len(given) <= _MAX_ID and given.isprintable() else _new_id()
        token = request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(route).observe(time.perf_counter() - started)
            request_id.reset(token)


def _new_id() -> str:
    return secrets.token_hex(8)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id; never the request's secrets."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's `log_config`: every logger, ours and uvicorn's, as JSON lines on stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "json"},
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
        },
    }
