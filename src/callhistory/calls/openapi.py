"""What the OpenAPI document says about parameters the routes read themselves.

The routes parse arrays in three spellings (`a=x&a=y`, `a[]=x`, `a=x,y`), which
FastAPI's declared parameters cannot express; these entries describe them instead.
"""

from __future__ import annotations

from typing import Any


def _param(
    name: str, schema: dict[str, Any], description: str, required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


def _array(name: str, description: str, values: list[str] | None = None) -> dict[str, Any]:
    items: dict[str, Any] = {"type": "string", "maxLength": 254}
    if values:
        items = {"type": "string", "enum": values}
    return {
        **_param(name, {"type": "array", "items": items, "maxItems": 200}, description),
        "style": "form",
        "explode": True,
    }


EPOCH_MS = {"type": "integer", "minimum": 0, "maximum": 253_402_300_799_999}
WINDOW = [
    _param("from_date", EPOCH_MS, "Window start, epoch ms (inclusive).", required=True),
    _param(
        "to_date",
        EPOCH_MS,
        "Window end, epoch ms (inclusive); at most 30 days after from_date.",
        required=True,
    ),
]
PAGING = [
    _param(
        "page",
        {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
        "Page, from 1.",
    ),
    _param(
        "size",
        {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 50},
        "Items per page; above 50 it is clamped to 50.",
    ),
]

LIST_PARAMETERS = [
    *WINDOW,
    _array("direction", "inbound, outbound, local.", ["inbound", "outbound", "local"]),
    _array("disposition", "answered or cancelled.", ["answered", "cancelled"]),
    _array("agents", "Agents' emails."),
    _array("user_uuids", "Agents' third-party user ids or codes, or extensions."),
    _array("sip_user", "Agent extension."),
    _array("sip_numbers", "Hotline numbers, in any written form (0…, 84…, +84…)."),
    _array("queue_destination", "Queue (ring group) numbers."),
    _param(
        "is_auto_call", {"type": "boolean"}, "true: only auto-dialer calls; false: only the others."
    ),
    _param(
        "keyword",
        {"type": "string", "maxLength": 100},
        "Case- and diacritics-insensitive: numbers (any form), customer and agent names, notes, "
        "tags, or a transaction-id prefix.",
    ),
    *PAGING,
]

REPORT_PARAMETERS = [
    _param(
        "from_date", EPOCH_MS, "Window start, epoch ms; with to_date absent too: the last 30 days."
    ),
    _param("to_date", EPOCH_MS, "Window end, epoch ms."),
    _array("numbers", "Hotline numbers."),
    _array("sip_user", "Agent extension."),
    _array("agents", "Agents' emails."),
]

SEARCH_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["from_date", "to_date", "user_uuids"],
                "properties": {
                    "from_date": EPOCH_MS,
                    "to_date": EPOCH_MS,
                    "user_uuids": {
                        "type": "array",
                        "items": {"type": "string"},
                        "minItems": 1,
                        "maxItems": 200,
                    },
                    "direction": {
                        "type": "array",
                        "items": {"type": "string", "enum": ["inbound", "outbound", "local"]},
                    },
                    "disposition": {
                        "type": "array",
                        "items": {"type": "string", "enum": ["answered", "cancelled"]},
                    },
                    "tags": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Tag ids.",
                    },
                    "numbers": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Hotlines.",
                    },
                },
            }
        }
    },
}

CHANGE_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "tag": {
                        "type": "array",
                        "items": {"type": "string", "maxLength": 100},
                        "maxItems": 50,
                    },
                    "note": {"type": ["string", "null"], "maxLength": 5000},
                    "user_uuid": {
                        "type": "string",
                        "description": "Set this agent's own note and tags.",
                    },
                },
            }
        }
    },
}

Responses = dict[int | str, dict[str, Any]]

ERRORS: Responses = {
    "400": {"description": "Bad input: `message` is the error code (from_date_is_required, …)."},
    "401": {"description": "Missing or invalid credentials."},
}
NOT_FOUND: Responses = {
    "404": {"description": "transaction_not_found (also for another tenant's call)."}
}
