"""The answers' shapes, as the OpenAPI document declares them: here the envelope, the
paging and the few answers of no feature; each feature's own in its `answers.py`
(`calls/answers.py`, `evaluations/answers.py`, ...), beside its routes.

The routes build their answers as plain dicts (`calls.shapes`, `evaluations.shapes`, …)
and hand them to `envelope.ok`; these models only describe those dicts, field for field,
so clients generated from the document read what the API really sends. They are never
used to validate or serialise an answer: `tests/test_fuzz.py` (schemathesis'
response_schema_conformance) and `tests/test_openapi_answers.py` check real answers
against them. Every model forbids other fields (`additionalProperties: false`), so a
field added to an answer and not here fails those tests instead of going undocumented.
"""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

Direction = Literal["inbound", "outbound", "local"]
Disposition = Literal["answered", "cancelled"]
ItemStatus = Literal["stored", "updated", "unchanged", "rejected"]


class Shape(BaseModel):
    """A fixed set of keys, each always present (null where the type says so)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# ---- the envelope --------------------------------------------------------------------


class Answer(Shape, Generic[T]):
    """A success: HTTP 2xx, `status_code` 9999, the answer in `payload`."""

    status_code: Literal[9999]
    instance_id: str
    instance_name: str
    instance_version: str
    payload: T
    key_enabled: bool


class Problem(Shape):
    """One `{"field", "code"}` of a validation error."""

    field: str
    code: str


class FailureEnvelope(Shape):
    """A failure's envelope, its payload aside."""

    status_code: Literal[-9999]
    instance_id: str
    instance_name: str
    instance_version: str
    message: str = Field(description="The error code, e.g. `from_date_is_required`.")
    key_enabled: bool


class Failure(FailureEnvelope):
    """Every failure, whatever its HTTP status: `message` is the stable error code."""

    payload: list[Problem] | None = Field(
        description="null, or for `validation_error` every field in error."
    )


# ---- operations and auth -------------------------------------------------------------


class Health(Shape):
    status: Literal["up"]


class Readiness(Shape):
    status: Literal["ready"]
    schema_: str = Field(alias="schema", description="The database's schema revision.")


class AccessToken(Shape):
    access_token: str
    token_type: Literal["Bearer"]
    access_type: Literal["normal"]
    expires_at: int = Field(description="Epoch ms.")


# ---- paging --------------------------------------------------------------------------


class Page(Shape, Generic[T]):
    """The list endpoints' paging (snake_case)."""

    items: list[T]
    page_number: int
    page_size: int
    total_items: int
    total_pages: int
    has_next: bool
    next_page: int
    has_previous: bool
    previous_page: int
    total_is_estimate: bool = Field(
        default=False,
        description="Our addition, sent only when true: a keyword matched more than "
        "10,000 calls, so `total_items` (and `total_pages`) is an estimate of at least "
        "10,000 rather than an exact count.",
    )


class CamelPage(Shape, Generic[T]):
    """The search endpoint's paging: camelCase, the contract's names."""

    items: list[T]
    pageNumber: int
    pageSize: int
    totalItems: int
    totalPages: int
    hasNext: bool
    nextPage: int
    hasPrevious: bool
    previousPage: int


class Items(Shape, Generic[T]):
    """An unpaged list."""

    items: list[T]
