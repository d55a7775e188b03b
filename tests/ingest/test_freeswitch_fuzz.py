"""Whatever bytes arrive, the FreeSWITCH decoder answers with a document or a CdrError,
never another exception (which would be a 500)."""

from __future__ import annotations

import base64
import contextlib
import json
from urllib.parse import quote, unquote_to_bytes

from hypothesis import given, settings
from hypothesis import strategies as st

from callhistory.ingest.formats.freeswitch import CdrError, decode_body, parse_leg, percent_decode

CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "application/x-www-form-base64-encoded",
        "",
        "text/plain; charset=utf-8",
    ]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
VARIABLE_NAMES = st.sampled_from(
    [
        "uuid",
        "start_epoch",
        "start_uepoch",
        "answer_epoch",
        "billsec",
        "end_epoch",
        "originating_leg_uuid",
        "hangup_cause_q850",
        "rtp_audio_in_mos",
        "record_path",
        "record_name",
        "channel_cid_flipped",
        "cc_queue",
        "playback_seconds",
        "x",
    ]
)


def _wrapped(raw: bytes, how: int) -> bytes:
    if how == 1:
        return b"cdr=" + quote(raw, safe="").encode()
    if how == 2:
        return b"cdr=" + base64.b64encode(raw)
    return raw


def _read(body: bytes, content_type: str) -> None:
    with contextlib.suppress(CdrError):
        parse_leg(decode_body(body, content_type), "hint")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), CONTENT_TYPES)
def test_any_bytes(body: bytes, content_type: str) -> None:
    _read(body, content_type)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(VARIABLE_NAMES, st.text(max_size=30) | JSON_VALUES, max_size=10),
    JSON_VALUES,
    st.integers(0, 2),
    CONTENT_TYPES,
)
def test_document_like_json(
    variables: dict[str, object], callflow: object, how: int, content_type: str
) -> None:
    raw = json.dumps({"variables": variables, "callflow": callflow, "app_log": callflow}).encode()
    _read(_wrapped(raw, how), content_type)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200) | st.text(alphabet="%\\x4aFgz+ ", max_size=40).map(str.encode))
def test_percent_decode_is_unquote_to_bytes(data: bytes) -> None:
    """The fast decoder of form bodies answers exactly what the standard library does."""
    assert percent_decode(data) == unquote_to_bytes(data)
