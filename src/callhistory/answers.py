"""The answers' shapes, as the OpenAPI document declares them.

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


# ---- evaluations ---------------------------------------------------------------------


class Evaluator(Shape):
    id: str
    full_name: str
    email: str | None
    user_uuid: str | None
    sip_user: str | None


class Score(Shape):
    criteria_id: str
    name: str
    score: float
    max_score: int
    weight: float
    note: str | None


class Evaluation(Shape):
    id: str
    evaluator: Evaluator
    criteria: list[Score]
    note: str | None
    score: float = Field(description="Weighted percentage of the maximum, 0..100.")
    total_score: float
    max_score: int
    created_date: int
    last_updated_date: int


class TotalEvaluate(Shape):
    average_score: float
    count: int


class Criterion(Shape):
    id: str
    name: str
    description: str
    max_score: int
    weight: float
    active: bool


class CriterionAverages(Shape):
    criteria_id: str
    name: str
    count: int
    average_score: float
    average_percentage: float


class ReportCriterion(CriterionAverages):
    max_score: int
    weight: float
    active: bool


class ReportAgent(Shape):
    agent_id: str
    full_name: str | None
    email: str | None
    sip_user: str | None
    user_uuid: str | None
    evaluated_calls: int
    evaluations: int
    average_score: float | None
    criteria: list[CriterionAverages]


class EvaluationReport(Shape):
    from_date: int
    to_date: int
    evaluated_calls: int
    evaluations: int
    average_score: float | None
    criteria: list[ReportCriterion]
    agents: list[ReportAgent]


# ---- calls ---------------------------------------------------------------------------


class Absent(Shape):
    """`{}`: the call has no such party. Never null: a client binding the source's
    example object decodes `{}` where it would fail on null."""


class Party(Shape):
    """`create_by` of a list item: who placed the call (an agent or the customer). A
    string it lacks is ""; `avatar` and `gender` are null, as in the source's example."""

    id: str
    name: str
    contact_id: str
    avatar: str | None
    gender: str | None
    uuid: str
    type: str


class SearchParty(Shape):
    """`create_by` of a search item; a string it lacks is ""."""

    id: str
    name: str
    contact_id: str
    type: str
    extension: str


class InternalDestination(Shape):
    """Who took a local call; a string it lacks is ""."""

    id: str
    contact_id: str
    name: str
    uuid: str
    extension: str
    type: str


class TagName(Shape):
    name: str


class CallUser(Shape):
    """An agent on the call, with their own note ("" for none) and tags."""

    full_name: str
    full_name_unsigned: str
    note: str
    tag: list[TagName]


class Customer(Shape):
    full_name: str
    full_name_unsigned: str


class CallListItem(Shape):
    """Absent values are the type's empty value ("", 0, [], {}), never null, except
    `evaluations` and `total_evaluate` (docs/api.md, "Absent values")."""

    transaction_id: str
    direction: Direction
    source_number: str
    destination_number: str
    disposition: Disposition
    bill_sec: int
    record_seconds: int
    time_start_to_answer: int = Field(description="Epoch seconds; 0: not known.")
    recording_file: str = Field(description='"" when the call has no recording.')
    sip_user: str
    duration: int
    provider: str
    note: str
    tag: list[str]
    call_out_price: int = Field(description="VND; 0 when the call center paid nothing.")
    created_date: int = Field(description="Epoch ms.")
    last_updated_date: int = Field(description="Epoch ms.")
    is_voicemail: bool
    recording_file_voicemail: str
    user: list[CallUser]
    create_by: Party | Absent
    internal_destination: InternalDestination | Absent
    evaluations: list[Evaluation] | None = Field(description="Newest first; null when none.")
    total_evaluate: TotalEvaluate | None = Field(description="null when none.")
    customer: Customer | Absent
    is_have_forward_out: bool
    bill_sec_forward_out: int


class CallDetail(CallListItem):
    """Detail, change and add_evaluation: the list item and `ivr`."""

    ivr: str = Field(description='"none" when the call met no IVR.')


class SyncItem(CallListItem):
    tenant_id: str
    is_deleted: bool


class TagView(Shape):
    id: str = Field(alias="_id")
    name: str


class SearchUser(Shape):
    id: str = Field(alias="_id", description='"" for an agent not in the directory.')
    full_name: str
    full_name_unsigned: str
    tags_view: list[TagView]
    note: str
    note_created_date: int = Field(description="Epoch ms; 0: no note.")


class SearchCustomer(Shape):
    id: str = Field(alias="_id")
    full_name: str
    full_name_unsigned: str
    uuid: str
    type: Literal["customer"]
    extension: str = Field(description='Always "": a customer has no extension.')


class CallSearchItem(Shape):
    """Absent values as in the list item (docs/api.md, "Absent values")."""

    id: str = Field(alias="_id")
    created_date: int
    last_updated_date: int
    create_by: SearchParty | Absent
    tenant_id: str
    transaction_id: str
    direction: Direction
    source_number: str
    destination_number: str
    disposition: Disposition
    duration: int
    bill_sec: int
    record_seconds: int
    time_start_call: int = Field(description="Epoch seconds; 0: not known.")
    time_end_call: int = Field(description="Epoch seconds; 0: not known.")
    time_start_to_answer: int = Field(description="Epoch seconds; 0: not known.")
    ms_time_start_to_answer: int = Field(description="Epoch ms; 0: never answered.")
    time_start_media: int = Field(description="Epoch seconds; 0: no media.")
    wait_sec: int
    hold_call_sec: int
    hangup_cause: str
    hangup_cause_q850: int = Field(description="0: not known.")
    customer: SearchCustomer | Absent
    user: list[SearchUser]
    sip_user: str
    is_stop_ivr: bool
    ivr: str = Field(description='"none" when the call met no IVR.')
    is_have_forward_out: bool
    is_auto_call: bool
    is_deleted: bool
    rtp_audio_in_mos: float = Field(description="0 when not measured.")
    is_callbot: bool
    dial_status: str
    answer_sec: int
    domain_fusion: str
    sip_from_user: str
    nation: str
    is_ai: bool
    domain: str
    playback_seconds: int
    pbx_type: str
    is_trunk: bool
    suspicious_checked: bool
    is_missed_call: bool
    is_analyzed: bool
    internal_destination: InternalDestination | Absent
    note: str
    tag: list[str]
    recording_file: str
    provider: str
    call_out_price: int = Field(description="VND; 0 when the call center paid nothing.")
    evaluations: list[Evaluation] | None = Field(description="Newest first; null when none.")
    total_evaluate: TotalEvaluate | None = Field(description="null when none.")


class SyncPage(Shape):
    items: list[SyncItem]
    cursor: str
    has_more: bool


# ---- the call report -----------------------------------------------------------------


class DirectionTotal(Shape):
    id: Literal["inbound", "outbound"] = Field(alias="_id")
    total_count: int
    total_time: int = Field(description="Summed bill_sec.")


class DispositionTotal(Shape):
    id: Disposition = Field(alias="_id")
    total_count: int
    total_outbound: int
    total_inbound: int


class LocalTotal(Shape):
    total_call: int
    total_call_answer: int


class CallReport(Shape):
    categorized_by_direction: list[DirectionTotal]
    categorized_by_disposition: list[DispositionTotal]
    categorized_by_local_direction: LocalTotal


# ---- tags ----------------------------------------------------------------------------


class Tag(Shape):
    id: str
    name: str
    count: int = Field(description="How many calls carry it.")


# ---- directories ---------------------------------------------------------------------


class BulkResult(Shape):
    index: int
    status: ItemStatus
    id: str | None
    errors: list[Problem]


class BulkReport(Shape):
    results: list[BulkResult]
    stored: int
    updated: int
    unchanged: int
    rejected: int


class Agent(Shape):
    id: str
    email: str | None
    full_name: str
    full_name_unsigned: str
    sip_user: str | None
    user_uuid: str | None
    active: bool


class Extension(Shape):
    sip_user: str
    full_name: str
    agent_id: str
    email: str | None
    public_number: None
    domain: None


class Hotline(Shape):
    number: str
    name: str
    provider: str | None


class Queue(Shape):
    group_number: str
    name: str


class DirectoryCustomer(Shape):
    id: str
    code: str | None
    full_name: str
    full_name_unsigned: str
    phones: list[str] = Field(description="National form, the main number first.")


class Price(Shape):
    carrier: str
    price_per_minute: int
    first_block_sec: int
    next_block_sec: int


# ---- ingest --------------------------------------------------------------------------


class LegStored(Shape):
    transaction_id: str
    leg_uuid: str
    status: Literal["stored", "updated", "unchanged"]


class BatchResult(Shape):
    index: int
    transaction_id: str | None
    status: ItemStatus
    errors: list[Problem]


class BatchReport(Shape):
    results: list[BatchResult]
    stored: int
    updated: int
    unchanged: int
    rejected: int


class Rejection(Shape):
    id: str
    received_at: int
    source: str
    reason: str
    detail: str
    content_type: str
    query: str
    body: str
    replayed_at: int | None


# ---- webhooks ------------------------------------------------------------------------


class Webhook(Shape):
    id: str
    type: str
    url: str
    events: list[str]
    status: str
    created_at: int
    failing_since: int | None


class RegisteredWebhook(Webhook):
    secret: str = Field(description="The signing secret, shown here once.")


class WebhookDestroyed(Shape):
    hook_type: str
    deleted: Literal[True]


class Delivery(Shape):
    id: str
    hook_id: str
    event: str
    transaction_id: str
    status: str
    attempts: int
    response_code: int | None
    error: str | None
    created_at: int
    last_attempt_at: int | None
    next_attempt_at: int | None


class Redelivery(Shape):
    id: str
    status: Literal["pending"]


# ---- exports -------------------------------------------------------------------------


class Export(Shape):
    id: str
    status: Literal["queued", "running", "done", "failed", "expired"]
    format: Literal["csv", "csv.gz", "xlsx"]
    time_zone: str
    date_format: str
    rows_total: int | None
    rows_done: int
    size_bytes: int | None
    created_at: int
    finished_at: int | None
    error: str | None
    download_url: str | None
    download_expires_at: int | None
