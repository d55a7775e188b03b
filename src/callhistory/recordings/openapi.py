"""What the OpenAPI document says about the recording routes' parameters and answers."""

from __future__ import annotations

from typing import Any

Responses = dict[int | str, dict[str, Any]]

_AUDIO = {
    media: {"schema": {"type": "string", "format": "binary"}}
    for media in ("audio/wav", "audio/mpeg", "audio/ogg", "application/octet-stream")
}
DOWNLOAD = [
    {
        "name": "download",
        "in": "query",
        "required": False,
        "schema": {"type": "boolean"},
        "description": "true: Content-Disposition attachment (save), else inline (play).",
    }
]
SIGNED = [
    *DOWNLOAD,
    *(
        {"name": name, "in": "query", "required": True, "schema": schema, "description": text}
        for name, schema, text in (
            ("tenant", {"type": "string"}, "From the signed link."),
            ("expires", {"type": "integer"}, "From the signed link: epoch seconds."),
            ("sig", {"type": "string"}, "From the signed link."),
        )
    ),
]
NOT_FOUND: Responses = {
    "401": {"description": "Missing or invalid credentials."},
    "404": {
        "description": "`transaction_not_found` (also another tenant's call), or "
        "`recording_not_found`: the call has none, or its file is missing or outside the folder."
    },
}
_BYTES: Responses = {
    200: {"description": "The whole file.", "content": _AUDIO},
    206: {"description": "The part a Range header asked for.", "content": _AUDIO},
    307: {"description": "No source configured: the call's own http(s) link."},
    416: {"description": "`range_not_satisfiable`."},
    502: {"description": "`recording_unavailable`: the PBX's web server did not answer."},
}
PLAY: Responses = {**_BYTES, **NOT_FOUND}
SIGNED_PLAY: Responses = {
    **_BYTES,
    "403": {"description": "`recording_link_invalid`."},
    "404": NOT_FOUND["404"],
    "410": {"description": "`recording_link_expired`."},
}
