"""The source's answer shapes: the list item (also detail and change) and the search item.

No field the source's examples show as a string, a number, a list or an object answers
null: clients written in C#, Java or Go bind those examples' types and fail on null. An
absent value is that type's empty value instead ("", 0, [], {}); docs/api.md, "Absent
values", lists every field. Only what the examples themselves show as null stays so:
`create_by.avatar`, `create_by.gender`, `evaluations`, `total_evaluate`.
"""

from __future__ import annotations

from typing import Any

from callhistory.calls.queries import CallUser, CallView
from callhistory.evaluations import shapes as evaluation_shapes
from callhistory.text import unsigned

_CREATE_BY_LIST = ("id", "name", "contact_id", "avatar", "gender", "uuid", "type")
_CREATE_BY_SEARCH = ("id", "name", "contact_id", "type", "extension")
_INTERNAL_DESTINATION = ("id", "contact_id", "name", "uuid", "extension", "type")
# null in the source's own create_by example, so a client already expects null there
_NULLABLE_PARTY_KEYS = frozenset({"avatar", "gender"})
NO_IVR = "none"  # the source's value for a call that met no IVR, and the ingest default


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _whole(value: Any) -> int:
    """0 when absent (for a time: it did not happen); int() so 4.0 never reaches a client."""
    return 0 if value is None else int(value)


def _number(value: Any) -> float:
    return 0.0 if value is None else float(value)


def _party(value: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """`{}` for no party; a party has every key, "" for those it lacks."""
    if not isinstance(value, dict) or not value:
        return {}
    return {
        key: value.get(key) if key in _NULLABLE_PARTY_KEYS else _text(value.get(key))
        for key in keys
    }


def _customer(view: CallView, full: bool) -> dict[str, Any]:
    row = view.row
    if not row.customer_name:
        return {}
    shown: dict[str, Any] = {
        "full_name": row.customer_name,
        "full_name_unsigned": unsigned(row.customer_name),
    }
    if full:
        shown = {
            "_id": _text(row.customer_id),
            **shown,
            "uuid": _text(row.customer_number),
            "type": "customer",
            "extension": "",  # a customer has none; the source's example shows a string
        }
    return shown


def _list_user(user: CallUser) -> dict[str, Any]:
    return {
        "full_name": user.row.full_name,
        "full_name_unsigned": user.row.full_name_unsigned,
        "note": _text(user.row.note),
        "tag": [{"name": name} for _, name in user.tags],
    }


def _search_user(user: CallUser) -> dict[str, Any]:
    return {
        "_id": _text(user.row.agent_id),
        "full_name": user.row.full_name,
        "full_name_unsigned": user.row.full_name_unsigned,
        "tags_view": [{"_id": tag_id, "name": name} for tag_id, name in user.tags],
        "note": _text(user.row.note),
        "note_created_date": _whole(user.row.note_created_date),
    }


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
        "time_start_to_answer": _whole(row.time_start_to_answer),
        "recording_file": _text(row.recording_file),
        "sip_user": _text(row.sip_user),
        "duration": row.duration,
        "provider": _text(row.provider),
        "note": _text(row.note),
        "tag": [name for _, name in view.tags],
        "call_out_price": _whole(row.call_out_price),
        "created_date": row.created_date,
        "last_updated_date": row.last_updated_date,
        "is_voicemail": row.is_voicemail,
        "recording_file_voicemail": _text(row.recording_file_voicemail),
        "user": [_list_user(user) for user in view.users],
        "create_by": _party(row.create_by, _CREATE_BY_LIST),
        "internal_destination": _party(row.internal_destination, _INTERNAL_DESTINATION),
        "evaluations": evaluation_shapes.evaluations(view.evaluations),
        "total_evaluate": evaluation_shapes.total_evaluate(view.evaluations),
        "customer": _customer(view, full=False),
        "is_have_forward_out": row.is_have_forward_out,
        "bill_sec_forward_out": row.bill_sec_forward_out,
    }


def detail(view: CallView) -> dict[str, Any]:
    """Detail and change answer the list item plus `ivr`, as the source's examples do."""
    return {**list_item(view), "ivr": view.row.ivr or NO_IVR}


def search_item(view: CallView, tenant_id: str) -> dict[str, Any]:
    row = view.row
    return {
        "_id": row.id,
        "created_date": row.created_date,
        "last_updated_date": row.last_updated_date,
        "create_by": _party(row.create_by, _CREATE_BY_SEARCH),
        "tenant_id": tenant_id,
        "transaction_id": row.transaction_id,
        "direction": row.direction,
        "source_number": row.source_number,
        "destination_number": row.destination_number,
        "disposition": row.disposition,
        "duration": row.duration,
        "bill_sec": row.bill_sec,
        "record_seconds": row.record_seconds,
        "time_start_call": _whole(row.time_start_call),
        "time_end_call": _whole(row.time_end_call),
        "time_start_to_answer": _whole(row.time_start_to_answer),
        "ms_time_start_to_answer": _whole(row.ms_time_start_to_answer),
        "time_start_media": _whole(row.time_start_media),
        "wait_sec": row.wait_sec,
        "hold_call_sec": row.hold_call_sec,
        "hangup_cause": _text(row.hangup_cause),
        "hangup_cause_q850": _whole(row.hangup_cause_q850),
        "customer": _customer(view, full=True),
        "user": [_search_user(user) for user in view.users],
        "sip_user": _text(row.sip_user),
        "is_stop_ivr": row.is_stop_ivr,
        "ivr": row.ivr or NO_IVR,
        "is_have_forward_out": row.is_have_forward_out,
        "is_auto_call": row.is_auto_call,
        "is_deleted": row.is_deleted,
        "rtp_audio_in_mos": _number(row.rtp_audio_in_mos),
        "is_callbot": row.is_callbot,
        "dial_status": _text(row.dial_status),
        "answer_sec": row.answer_sec,
        "domain_fusion": _text(row.domain_fusion),
        "sip_from_user": _text(row.sip_from_user),
        "nation": _text(row.nation),
        "is_ai": row.is_ai,
        "domain": _text(row.domain),
        "playback_seconds": row.playback_seconds,
        "pbx_type": _text(row.pbx_type),
        "is_trunk": row.is_trunk,
        "suspicious_checked": row.suspicious_checked,
        "is_missed_call": row.is_missed_call,
        "is_analyzed": row.is_analyzed,
        "internal_destination": _party(row.internal_destination, _INTERNAL_DESTINATION),
        # beyond the source's search example, so a search answer is enough to show a call
        "note": _text(row.note),
        "tag": [name for _, name in view.tags],
        "recording_file": _text(row.recording_file),
        "provider": _text(row.provider),
        "call_out_price": _whole(row.call_out_price),
        "evaluations": evaluation_shapes.evaluations(view.evaluations),
        "total_evaluate": evaluation_shapes.total_evaluate(view.evaluations),
    }
