"""FreeSWITCH `mod_json_cdr` documents: decoding the post as the module sends it, and
reading one leg out of the document.

The module's output varies by version and configuration (see docs/freeswitch.md):
the body may be raw JSON, `cdr=<URL-encoded JSON>` or `cdr=<base64 JSON>`; variable
values may themselves be URL-encoded (`encode-values`); `callflow` is an object, an
array, or a key repeated once per caller profile. Every value is a string.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

import orjson

FORM = "application/x-www-form-urlencoded"
BASE64_FORM = "application/x-www-form-base64-encoded"

# A value that went through `encode-values` never holds these; a plain one often does
# (`start_stamp` has a space and colons), while a plain value may hold a bare `%`.
# Commas are left as they are by the encoder, so they say nothing either way.
_PLAIN_ONLY = re.compile(r"[ :;@|=<>\"]")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
# Applications whose data is the path of the call's recording.
_RECORDING_APPS = ("record_session", "record")


class CdrError(ValueError):
    """A post that is not a usable mod_json_cdr document; `code` is the API's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Leg:
    """One channel of a call, as its CDR describes it."""

    uuid: str
    call_id: str  # the A-leg's uuid: every leg of one call carries the same
    is_b_leg: bool
    caller_number: str
    destination_number: str
    start_ms: int | None
    answer_ms: int | None
    end_ms: int | None
    billsec: int
    # The PBX's own figures (`duration`, `waitsec`), whole seconds as it billed them;
    # None when the CDR lacks them. Computing them from microsecond epochs rounds the
    # other way now and then (a 2013 leg with duration 24 spans 23.6 s).
    duration: int | None
    waitsec: int | None
    hold_sec: int
    answered: bool
    hangup_cause: str | None
    hangup_cause_q850: int | None
    dial_status: str | None
    mos: float | None
    sip_user: str | None  # the extension this leg belongs to, when it is an agent's
    dialed_user: str | None  # the extension this leg bridged to
    sip_from_user: str | None
    domain: str | None
    queue: str | None
    recording_path: str | None
    record_seconds: int | None
    playback_seconds: int
    voicemail: bool
    voicemail_path: str | None
    is_auto_call: bool
    variables: Mapping[str, str] = field(default_factory=dict)


# --- the post's body -------------------------------------------------------------------


def decode_body(body: bytes, content_type: str) -> dict[str, Any]:
    """The JSON document inside a post, whichever `encode` setting sent it."""
    if not body.strip():
        raise CdrError("cdr_is_required", "the body is empty")
    kind = content_type.split(";", 1)[0].strip().lower()
    stripped = body.lstrip()
    if kind == BASE64_FORM or (kind != FORM and stripped.startswith(b"cdr=") and _is_b64(body)):
        raw = _base64_field(body)
    elif kind == FORM or stripped.startswith(b"cdr="):
        raw = _form_field(body)
    else:
        raw = body
    return parse_document(raw)


def _is_b64(body: bytes) -> bool:
    return body.lstrip()[4:5] not in (b"{", b"%", b"[")


def _cdr_value(body: bytes) -> bytes:
    for part in body.strip().split(b"&"):
        name, _, value = part.partition(b"=")
        if name == b"cdr":
            return value
    raise CdrError("cdr_is_required", "the form has no `cdr` field")


def percent_decode(data: bytes) -> bytes:
    """`unquote_to_bytes`, ten times faster on a CDR (a thousand escapes in a leg): each
    `%XX` becomes the `\\xXX` escape that the C-level `codecs.escape_decode` reads, once
    the backslashes of the data are escaped. A `%` not followed by two hex digits makes
    that fail, and the pure-Python original handles those rare bodies."""
    try:
        return codecs.escape_decode(data.replace(b"\\", b"\\\\").replace(b"%", b"\\x"))[0]
    except ValueError:
        return unquote_to_bytes(data)


def _form_field(body: bytes) -> bytes:
    return percent_decode(_cdr_value(body).replace(b"+", b" "))


def _base64_field(body: bytes) -> bytes:
    # The module does not URL-encode the base64 text, but a proxy may have: undo %XX
    # only (a `+` here is base64, not a space).
    value = percent_decode(_cdr_value(body))
    try:
        return base64.b64decode(b"".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CdrError("cdr_invalid_base64", "the `cdr` field is not valid base64") from exc


def parse_document(raw: bytes) -> dict[str, Any]:
    """JSON text to a document, keeping every `callflow` when the key is repeated."""
    try:
        if raw.count(b'"callflow"') > 1:
            text = raw.decode("utf-8")
            document = json.loads(text, object_pairs_hook=_keep_repeated_callflows)
        else:
            document = orjson.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CdrError("invalid_json", "the CDR is not valid JSON") from exc
    if not isinstance(document, dict):
        raise CdrError("cdr_must_be_an_object", "the CDR must be a JSON object")
    return document


def _keep_repeated_callflows(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    flows: list[Any] = []
    for key, value in pairs:
        if key == "callflow":
            flows.extend(value if isinstance(value, list) else [value])
        else:
            result[key] = value
    if flows:
        result["callflow"] = flows[0] if len(flows) == 1 else flows
    return result


# --- one leg out of a document ---------------------------------------------------------


def variables_of(document: Mapping[str, Any]) -> dict[str, str]:
    """The channel variables as plain strings, URL-decoded when the document was
    written with `encode-values` (decided per document, never per value)."""
    found = document.get("variables")
    if not isinstance(found, dict) or not found:
        raise CdrError("cdr_variables_missing", "the CDR has no `variables` object")
    values = {str(k): v if isinstance(v, str) else str(v) for k, v in found.items()}
    if _values_encoded(values.values()):
        return {k: unquote(v) for k, v in values.items()}
    return values


def _values_encoded(values: Any) -> bool:
    escaped = False
    for value in values:
        if _PLAIN_ONLY.search(value):
            return False
        escaped = escaped or bool(_ESCAPE.search(value))
    return escaped


def callflows(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every callflow entry, oldest caller profile first."""
    found = document.get("callflow")
    flows = found if isinstance(found, list) else [found] if isinstance(found, dict) else []
    entries = [f for f in flows if isinstance(f, dict)]
    return sorted(entries, key=lambda f: _int(f.get("profile_index")) or 0)


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _seconds(value: Any) -> int | None:
    """A count of seconds the PBX wrote; None when absent or not one."""
    number = _int(value)
    return number if number is not None and number >= 0 else None


def _ms(variables: Mapping[str, str], name: str) -> int | None:
    """`<name>_uepoch` (µs) or `<name>_epoch` (s) as epoch ms; None when "0" or absent."""
    micros = _int(variables.get(f"{name}_uepoch"))
    if micros:
        return micros // 1000
    seconds = _int(variables.get(f"{name}_epoch"))
    return seconds * 1000 if seconds else None


def _text(variables: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = variables.get(name, "").strip()
        if value:
            return value
    return None


def _mos(variables: Mapping[str, str], document: Mapping[str, Any]) -> float | None:
    raw = variables.get("rtp_audio_in_mos")
    if raw is None:
        stats = document.get("callStats")
        audio = stats.get("audio") if isinstance(stats, dict) else None
        inbound = audio.get("inbound") if isinstance(audio, dict) else None
        raw = inbound.get("mos") if isinstance(inbound, dict) else None
    try:
        mos = float(raw) if raw is not None else None
    except ValueError:
        return None
    return mos if mos is not None and 0 < mos <= 5 else None


def _recording(variables: Mapping[str, str], document: Mapping[str, Any]) -> str | None:
    """FusionPBX names it in `record_path` + `record_name`; otherwise the argument of
    the application that recorded."""
    path, name = _text(variables, "record_path"), _text(variables, "record_name")
    if path and name:
        return f"{path.rstrip('/')}/{name}"
    direct = _text(variables, "recording_file", "record_file", "cc_record_filename")
    if direct:
        return direct
    logged = document.get("app_log")
    apps = logged.get("application") if isinstance(logged, dict) else None
    for app in apps if isinstance(apps, list) else []:
        if isinstance(app, dict) and app.get("app_name") in _RECORDING_APPS:
            data = str(app.get("app_data", "")).split()
            if data:
                return unquote(data[0]) if "%" in data[0] else data[0]
    return None


def _is_voicemail(variables: Mapping[str, str], document: Mapping[str, Any]) -> bool:
    if variables.get("last_app") == "voicemail" or _text(variables, "voicemail_message_len"):
        return True
    logged = document.get("app_log")
    apps = logged.get("application") if isinstance(logged, dict) else None
    return any(
        isinstance(app, dict) and app.get("app_name") == "voicemail"
        for app in (apps if isinstance(apps, list) else [])
    )


def _queue(variables: Mapping[str, str]) -> str | None:
    """mod_callcenter's `cc_queue` (`name@domain`), mod_fifo, or a FusionPBX ring group."""
    queue = _text(
        variables, "cc_queue", "fifo_name", "ring_group_extension", "callcenter_queue_extension"
    )
    return queue.split("@", 1)[0] if queue else None


def _call_id(variables: Mapping[str, str], uuid: str) -> tuple[str, bool]:
    """The A-leg's uuid, and whether this leg is another leg of that call."""
    parent = _text(variables, "originating_leg_uuid", "cc_member_session_uuid", "originator")
    if parent and parent != uuid:
        return parent, True
    own = _text(variables, "call_uuid")
    return (own or uuid), bool(own and own != uuid)


def _numbers(
    variables: Mapping[str, str], profile: Mapping[str, Any], first: Mapping[str, Any]
) -> tuple[str, str]:
    """The calling and the called number. With `originate` the caller id is flipped:
    the profile names the callee, the origination caller id the caller."""
    destination = str(first.get("destination_number") or "") or (
        _text(variables, "destination_number", "sip_req_user", "sip_to_user") or ""
    )
    if variables.get("channel_cid_flipped") == "yes":
        caller = _text(variables, "origination_caller_id_number") or str(profile.get("ani", ""))
    else:
        caller = str(profile.get("caller_id_number") or "") or (
            _text(variables, "caller_id_number", "sip_from_user") or ""
        )
    return caller, destination


def parse_leg(document: Mapping[str, Any], uuid_hint: str | None = None) -> Leg:
    """One leg, from a decoded document; `uuid_hint` is the `?uuid=` the module posts."""
    variables = variables_of(document)
    flows = callflows(document)
    first = flows[0].get("caller_profile", {}) if flows else {}
    last = flows[-1].get("caller_profile", {}) if flows else {}
    first = first if isinstance(first, dict) else {}
    last = last if isinstance(last, dict) else {}
    uuid = _text(variables, "uuid") or str(last.get("uuid") or "") or (uuid_hint or "")
    if not uuid or len(uuid) > 64:
        raise CdrError("cdr_uuid_missing", "the CDR names no channel uuid")
    call_id, is_b_leg = _call_id(variables, uuid)
    start = _ms(variables, "start")
    if start is None:
        raise CdrError("cdr_start_missing", "the CDR has no start time")
    caller, destination = _numbers(variables, last, first)
    answer = _ms(variables, "answer")
    billsec = _int(variables.get("billsec")) or 0
    channel = document.get("channel_data")
    channel_direction = channel.get("direction") if isinstance(channel, dict) else None
    originated = str(last.get("source", "")) == "src/switch_ivr_originate.c"
    return Leg(
        uuid=uuid,
        call_id=call_id,
        is_b_leg=is_b_leg,
        caller_number=caller,
        destination_number=destination,
        start_ms=start,
        answer_ms=answer,
        end_ms=_ms(variables, "end"),
        billsec=billsec,
        duration=_seconds(variables.get("duration")),
        waitsec=_seconds(variables.get("waitsec")),
        hold_sec=_int(variables.get("hold_accum_seconds")) or 0,
        answered=answer is not None or billsec > 0,
        hangup_cause=_text(variables, "hangup_cause"),
        hangup_cause_q850=_int(variables.get("hangup_cause_q850")),
        dial_status=_text(variables, "DIALSTATUS", "originate_disposition"),
        mos=_mos(variables, document) if answer is not None else None,
        sip_user=_text(variables, "dialed_user")
        if is_b_leg
        else _text(variables, "user_name", "sip_auth_username"),
        dialed_user=None if is_b_leg else _text(variables, "dialed_user"),
        sip_from_user=_text(variables, "sip_from_user"),
        domain=_text(variables, "domain_name", "sip_to_host"),
        queue=_queue(variables),
        recording_path=_recording(variables, document),
        record_seconds=_int(variables.get("record_seconds")),
        playback_seconds=_int(variables.get("playback_seconds")) or 0,
        voicemail=_is_voicemail(variables, document),
        voicemail_path=_text(variables, "voicemail_file_path", "vm_file_path"),
        is_auto_call=_auto_call(variables, originated and channel_direction == "outbound"),
        variables=variables,
    )


def _auto_call(variables: Mapping[str, str], originated: bool) -> bool:
    """A dialer's call: placed by `originate` with no caller behind it, or flagged."""
    flag = (_text(variables, "is_auto_call", "sip_h_X-Auto-Call") or "").lower()
    if flag in ("true", "1", "yes"):
        return True
    return originated and not _text(variables, "originating_leg_uuid", "originator")
