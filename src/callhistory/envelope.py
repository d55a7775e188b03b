"""The contract's answer envelope, for successes and for every kind of failure."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from callhistory import __version__
from callhistory.config import get_settings

SUCCESS = 9999
FAILURE = -9999

log = logging.getLogger("callhistory")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "limit_request_30_minute",
    503: "service_unavailable",
}


class ApiError(Exception):
    """A failure the client can act on: an HTTP status and a stable snake_case code."""

    def __init__(
        self,
        status: int,
        code: str,
        payload: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.payload = payload
        self.headers = headers or {}


def validation_error(field: str, code: str) -> ApiError:
    return ApiError(400, "validation_error", [{"field": field, "code": code}])


def _body(status_code: int, payload: Any, message: str | None) -> dict[str, Any]:
    settings = get_settings()
    body: dict[str, Any] = {
        "status_code": status_code,
        "instance_id": settings.instance_id,
        "instance_name": settings.instance_name,
        "instance_version": __version__,
        "payload": payload,
        "key_enabled": False,
    }
    if message is not None:
        body["message"] = message
    return body


class EnvelopeResponse(JSONResponse):
    """JSON by orjson. A JSONResponse, so that FastAPI documents the routes' declared
    answer models (for other response classes it writes `type: string`)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def ok(payload: Any, status: int = 200) -> EnvelopeResponse:
    return EnvelopeResponse(_body(SUCCESS, payload, None), status_code=status)


def fail(
    status: int, code: str, payload: Any = None, headers: dict[str, str] | None = None
) -> EnvelopeResponse:
    return EnvelopeResponse(_body(FAILURE, payload, code), status_code=status, headers=headers)


def _field_of(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    """Route every failure, including the framework's own, through the envelope."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> Response:
        return fail(exc.status, exc.code, exc.payload, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "error")
        return fail(exc.status_code, code, None, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return fail(400, "invalid_json")
        problems = [
            {"field": _field_of(tuple(e.get("loc", ()))), "code": e.get("type", "invalid")}
            for e in errors
        ]
        return fail(400, "validation_error", problems)

    @app.exception_handler(sa_exc.OperationalError)
    @app.exception_handler(sa_exc.InterfaceError)
    @app.exception_handler(sa_exc.TimeoutError)
    @app.exception_handler(ConnectionError)
    async def _database_down(request: Request, exc: Exception) -> Response:
        # The database is down or restarting: a retryable 503, not a bug. The pool
        # reconnects by itself once it is back (pool_pre_ping).
        log.warning(
            "database unavailable on %s %s: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
        )
        return fail(503, "database_unavailable", None, {"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Logged with its trace for operators; the client sees only a stable code.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return fail(500, "internal_error")


async def json_object(request: Request) -> dict[str, Any]:
    """The request's JSON object body, or the contract's error for a missing or bad one."""
    raw = await request.body()
    if not raw.strip():
        raise ApiError(400, "request_body_required")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json") from exc
    if b"\\u0000" in raw and _holds_nul(body):  # valid JSON, but no text column holds it
        raise validation_error("body", "nul_byte")
    if not isinstance(body, dict):
        raise ApiError(400, "body_must_be_an_object")
    return body


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False
