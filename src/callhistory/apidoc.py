"""The OpenAPI document at `/openapi.json`, made to say what the API really answers.

FastAPI writes a document from the routes alone; this one also declares what the layers
around the routes answer, for every operation they apply to:

- every failure is the contract's envelope (`answers.Failure`), whatever its status,
  unless the route declares a failure of its own shape (a `model` in its `responses`);
- 400 on any operation: a NUL byte in the path or query (`guards.RejectNulBytes`), and
  the validation errors FastAPI would answer with 422 (`envelope.install` makes them
  400 `validation_error`): 422 is never answered, so it is never declared;
- 413 on any operation: a body over CALLHISTORY_MAX_BODY_BYTES (`guards.LimitBodySize`);
- 401 and 429 wherever a credential is read (the operation has `security`);
- 404 wherever the path has a parameter: a value holding `/` matches no route;
- 503 `database_unavailable` with `Retry-After` wherever the database is read.

The routes declare the rest: their success answer (`response_model=answers.Answer[…]`)
and their own failures (404 `transaction_not_found`, 409, …).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from callhistory.answers import Failure

_REF = "#/components/schemas/{model}"
_FAILURE_REF = {"$ref": _REF.format(model="Failure")}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
_PATH_PARAMETER = re.compile(r"\{[^}]+\}")

# Operations that never touch the database, so never answer 503.
WITHOUT_DATABASE = frozenset({("get", "/healthz")})

BAD_INPUT = {
    "description": "Bad input: `message` is the error code (`validation_error` with "
    "`{field, code}` problems, `invalid_json`, `request_body_required`, …)."
}
UNAUTHORIZED = {
    "description": "Missing or invalid credentials: `api_key_is_required`, "
    "`api_key_invalid`, `token_expired` or `unauthorized`."
}
NO_ROUTE = {"description": "`not_found`: the path matches no route (an id holding `/`)."}
TOO_LARGE = {
    "description": "`payload_too_large`: the body is over CALLHISTORY_MAX_BODY_BYTES "
    "(refused before it is read)."
}
RATE_LIMITED = {
    "description": "`limit_request_30_minute`: the key is over its rate limit.",
    "headers": _RETRY_AFTER,
}
DATABASE_DOWN = {
    "description": "`database_unavailable`: the database cannot be reached (restarting?); "
    "retry after `Retry-After` seconds.",
    "headers": _RETRY_AFTER,
}


def install(app: FastAPI) -> None:
    """Serve `document(app)` as the app's OpenAPI document (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
    )
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    failure = Failure.model_json_schema(ref_template=_REF)
    schemas.update(failure.pop("$defs", {}))
    schemas["Failure"] = failure
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            _declare(method, path, operation)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    doc["components"]["schemas"] = dict(sorted(schemas.items()))
    return doc


def _declare(method: str, path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    responses.pop("422", None)
    generic: dict[str, dict[str, Any]] = {"400": BAD_INPUT, "413": TOO_LARGE}
    if operation.get("security"):
        generic |= {"401": UNAUTHORIZED, "429": RATE_LIMITED}
    if _PATH_PARAMETER.search(path):
        generic["404"] = NO_ROUTE
    if (method, path) not in WITHOUT_DATABASE:
        generic["503"] = DATABASE_DOWN
    for status, response in generic.items():
        if status not in responses:
            responses[status] = dict(response)
        elif status == "404":
            own = responses[status].get("description", "")
            responses[status]["description"] = f"{own} Also {NO_ROUTE['description']}".strip()
    for status, response in responses.items():
        if status.startswith(("4", "5")) and "content" not in response:
            response["content"] = {"application/json": {"schema": dict(_FAILURE_REF)}}
    operation["responses"] = dict(sorted(responses.items()))
