"""A call as ingest hands it to the store, whatever the PBX or format it came from."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class AgentOnCall:
    """An agent who took part in a call, as far as the PBX or the directory knows them."""

    sip_user: str | None = None
    agent_id: str | None = None
    email: str | None = None
    user_uuid: str | None = None
    full_name: str = ""


@dataclass(frozen=True)
class CallRecord:
    """Every PBX-owned field of a call. Notes and tags belong to people, not here."""

    transaction_id: str
    created_date: int  # epoch ms, the call's start
    direction: str
    disposition: str
    source_number: str = ""
    destination_number: str = ""
    sip_user: str | None = None
    hotline: str | None = None
    queue_destination: str | None = None
    is_auto_call: bool = False
    duration: int = 0
    bill_sec: int = 0
    record_seconds: int = 0
    answer_sec: int = 0
    wait_sec: int = 0
    hold_call_sec: int = 0
    playback_seconds: int = 0
    bill_sec_forward_out: int = 0
    time_start_call: int | None = None
    time_start_to_answer: int | None = None
    ms_time_start_to_answer: int | None = None
    time_start_media: int | None = None
    time_end_call: int | None = None
    hangup_cause: str | None = None
    hangup_cause_q850: int | None = None
    dial_status: str | None = None
    rtp_audio_in_mos: float | None = None
    sip_from_user: str | None = None
    domain: str | None = None
    domain_fusion: str | None = None
    pbx_type: str = ""
    ivr: str = "none"
    nation: str = "vn"
    provider: str | None = None
    call_out_price: int | None = None
    recording_file: str | None = None
    recording_file_voicemail: str | None = None
    recording_path: str | None = None  # as the PBX wrote it (recording_file is the link)
    is_voicemail: bool = False
    is_have_forward_out: bool = False
    is_missed_call: bool = False
    is_trunk: bool = False
    customer_id: str | None = None
    customer_name: str | None = None
    customer_number: str | None = None
    create_by: dict[str, Any] | None = None
    internal_destination: dict[str, Any] | None = None
    agents: tuple[AgentOnCall, ...] = field(default_factory=tuple)

    def columns(self) -> dict[str, Any]:
        """The record's values for the `calls` table (agents go to `call_users`)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "agents"}
