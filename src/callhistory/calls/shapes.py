"""The source's answer shapes: the list item (also detail and change) and the search item."""

from __future__ import annotations

from typing import Any

from callhistory.calls.queries import CallView
from callhistory.evaluations import shapes as evaluation_shapes
from callhistory.text import unsigned

_CREATE_BY_LIST = ("id", "name", "contact_id", "avatar", "gender", "uuid", "type")
_CREATE_BY_SEARCH = ("id", "name", "contact_id", "type", "extension")
_INTERNAL_DESTINATION = ("id", "contact_id", "name", "uuid", "extension", "type")


def _pick(value: Any, keys: tuple[str, ...]) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {key: value.get(key) for key in keys}


def _customer(view: CallView, full: bool) -> dict[str, Any] | None:
    row = view.row
    if not row.customer_name:
        return None
    shown: dict[str, Any] = {
        "full_name": row.customer_name,
        "full_name_unsigned": unsigned(row.customer_name),
    }
    if full:
        shown = {
            "_id": row.customer_id,
            **shown,
            "uuid": row.customer_number,
            "type": "customer",
            "extension": None,
        }
    return shown


def list_item(view: CallView) -> dict[str, Any]:
    row = view.row
    return {
        "transaction_id": row.transaction_id,
        "direction": row.direction,
        "source_number": row.source_number,
        "destination_number": row.destination_number,
        "disposition": row.disposition,
        "bill_sec": row.bill_sec,
        "record_seconds": row.record_seconds,
        "time_start_to_answer": row.time_start_to_answer,
        "recording_file": row.recording_file,
        "sip_user": row.sip_user,
        "duration": row.duration,
        "provider": row.provider,
        "note": row.note,
        "tag": [name for _, name in view.tags],
        "call_out_price": row.call_out_price,
        "created_date": row.created_date,
        "last_updated_date": row.last_updated_date,
        "is_voicemail": row.is_voicemail,
        "recording_file_voicemail": row.recording_file_voicemail or "",
        "user": [
            {
                "full_name": user.row.full_name,
                "full_name_unsigned": user.row.full_name_unsigned,
                "note": user.row.note,
                "tag": [{"name": name} for _, name in user.tags],
            }
            for user in view.users
        ],
        "create_by": _pick(row.create_by, _CREATE_BY_LIST),
        "internal_destination": _pick(row.internal_destination, _INTERNAL_DESTINATION),
        "evaluations": evaluation_shapes.evaluations(view.evaluations),
        "total_evaluate": evaluation_shapes.total_evaluate(view.evaluations),
        "customer": _customer(view, full=False),
        "is_have_forward_out": row.is_have_forward_out,
        "bill_sec_forward_out": row.bill_sec_forward_out,
    }


def detail(view: CallView) -> dict[str, Any]:
    """Detail and change answer the list item plus `ivr`, as the source's examples do."""
    return {**list_item(view), "ivr": view.row.ivr}


def search_item(view: CallView, tenant_id: str) -> dict[str, Any]:
    row = view.row
    return {
        "_id": row.id,
        "created_date": row.created_date,
        "last_updated_date": row.last_updated_date,
        "create_by": _pick(row.create_by, _CREATE_BY_SEARCH),
        "tenant_id": tenant_id,
        "transaction_id": row.transaction_id,
        "direction": row.direction,
        "source_number": row.source_number,
        "destination_number": row.destination_number,
        "disposition": row.disposition,
        "duration": row.duration,
        "bill_sec": row.bill_sec,
        "record_seconds": row.record_seconds,
        "time_start_call": row.time_start_call,
        "time_end_call": row.time_end_call,
        "time_start_to_answer": row.time_start_to_answer,
        "ms_time_start_to_answer": row.ms_time_start_to_answer,
        "time_start_media": row.time_start_media,
        "wait_sec": row.wait_sec,
        "hold_call_sec": row.hold_call_sec,
        "hangup_cause": row.hangup_cause,
        "hangup_cause_q850": row.hangup_cause_q850,
        "customer": _customer(view, full=True),
        "user": [
            {
                "_id": user.row.agent_id,
                "full_name": user.row.full_name,
                "full_name_unsigned": user.row.full_name_unsigned,
                "tags_view": [{"_id": tag_id, "name": name} for tag_id, name in user.tags],
                "note": user.row.note,
                "note_created_date": user.row.note_created_date,
            }
            for user in view.users
        ],
        "sip_user": row.sip_user,
        "is_stop_ivr": row.is_stop_ivr,
        "ivr": row.ivr,
        "is_have_forward_out": row.is_have_forward_out,
        "is_auto_call": row.is_auto_call,
        "is_deleted": row.is_deleted,
        "rtp_audio_in_mos": row.rtp_audio_in_mos,
        "is_callbot": row.is_callbot,
        "dial_status": row.dial_status,
        "answer_sec": row.answer_sec,
        "domain_fusion": row.domain_fusion,
        "sip_from_user": row.sip_from_user,
        "nation": row.nation,
        "is_ai": row.is_ai,
        "domain": row.domain,
        "playback_seconds": row.playback_seconds,
        "pbx_type": row.pbx_type,
        "is_trunk": row.is_trunk,
        "suspicious_checked": row.suspicious_checked,
        "is_missed_call": row.is_missed_call,
        "is_analyzed": row.is_analyzed,
        "internal_destination": _pick(row.internal_destination, _INTERNAL_DESTINATION),
        # beyond the source's search example, so a search answer is enough to show a call
        "note": row.note,
        "tag": [name for _, name in view.tags],
        "recording_file": row.recording_file,
        "provider": row.provider,
        "call_out_price": row.call_out_price,
        "evaluations": evaluation_shapes.evaluations(view.evaluations),
        "total_evaluate": evaluation_shapes.total_evaluate(view.evaluations),
    }
