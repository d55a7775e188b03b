"""The list, detail, change and search items, as the OpenAPI document declares them.

Descriptions of the dicts the routes answer, never used to build them: see
callhistory.answers for why and how they are checked.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from callhistory.answers import Direction, Disposition, Shape
from callhistory.evaluations.answers import Evaluation, TotalEvaluate


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


class CallDeleted(Shape):
    transaction_id: str
    deleted_at: int  # epoch ms
    recording_removed: bool  # its file was in CALLHISTORY_RECORDINGS_DIR and is gone
