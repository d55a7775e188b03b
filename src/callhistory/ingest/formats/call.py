"""What every format's parser gives the pipeline: a call as the PBX described it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MergedCall:
    """What the PBX said about a call, before the tenant's directories enrich it."""

    call_id: str
    caller_number: str
    destination_number: str
    start_ms: int
    answer_ms: int | None
    end_ms: int
    bill_sec: int
    wait_sec: int
    hold_sec: int
    answered: bool
    hangup_cause: str | None
    hangup_cause_q850: int | None
    dial_status: str | None
    mos: float | None
    extensions: tuple[str, ...]  # agents' extensions, the answering one first
    sip_from_user: str | None
    domain: str | None
    queue: str | None
    recording_path: str | None
    record_seconds: int | None
    voicemail: bool
    voicemail_path: str | None
    is_auto_call: bool
    outbound_caller_id: str | None
    playback_seconds: int = 0
    direction: str | None = None  # when the PBX or the sender says; else from the numbers
    provider: str | None = None  # when the PBX or the sender says; else from the prefix
    duration: int | None = None  # the PBX's own, in seconds; None: from start and end
