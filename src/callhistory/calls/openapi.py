"""What the OpenAPI document says about parameters the routes read themselves, and the
answers they declare beside their success model.

The routes parse arrays in every spelling clients use (`a=x&a=y`, `a[]=x`, `a[0]=x`,
`a=x,y`), which FastAPI's declared parameters cannot express; these entries describe
them instead (OpenAPI's `form`/`explode`, the plainest; docs/api.md lists the others).
Every failure declared here gets the envelope's schema in `callhistory.apidoc`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def query_param(
    name: str, schema: dict[str, Any], description: str, required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


def query_array_param(
    name: str, description: str, values: list[str] | None = None
) -> dict[str, Any]:
    items: dict[str, Any] = {"type": "string", "maxLength": 254}
    if values:
        items = {"type": "string", "enum": values}
    return {
        **query_param(name, {"type": "array", "items": items, "maxItems": 200}, description),
        "style": "form",
        "explode": True,
    }


# A number, not an integer: clients send `time.time() * 1000`; fractions round inward.
EPOCH_MS = {"type": "number", "minimum": 0, "maximum": 253_402_300_799_999}
WINDOW = [
    query_param("from_date", EPOCH_MS, "Window start, epoch ms (inclusive).", required=True),
    query_param(
        "to_date",
        EPOCH_MS,
        "Window end, epoch ms (inclusive); at most 30 days after from_date.",
        required=True,
    ),
]
PAGING = [
    query_param(
        "page",
        {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
        "Page, from 1.",
    ),
    query_param(
        "size",
        {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 50},
        "Items per page; above 50 it is clamped to 50.",
    ),
]

# Our additions (calls.quality): each narrows the calls; a minimum above its maximum is a 400.
SECONDS = {"type": "integer", "minimum": 0, "maximum": 2_147_483_647}
MOS = {"type": "number", "minimum": 1, "maximum": 5}
QUALITY = [
    query_param("min_duration", SECONDS, "Calls at least this long (duration, seconds)."),
    query_param("max_duration", SECONDS, "Calls at most this long (duration, seconds)."),
    {
        **query_param(
            "hangup_cause",
            {
                "type": "array",
                "items": {"type": "string", "pattern": "^[A-Za-z0-9_]{1,64}$"},
                "maxItems": 200,
            },
            "The PBX's hang-up causes (NORMAL_CLEARING, USER_BUSY, NO_ANSWER…), any case.",
        ),
        "style": "form",
        "explode": True,
    },
    query_param(
        "has_recording", {"type": "boolean"}, "true: calls with a recording; false: without."
    ),
    query_param("min_mos", MOS, "Inbound audio MOS at least this (calls with no MOS left out)."),
    query_param("max_mos", MOS, "Inbound audio MOS at most this (calls with no MOS left out)."),
]
QUALITY_PROPERTIES = {
    "min_duration": SECONDS,
    "max_duration": SECONDS,
    "hangup_cause": {"type": "array", "items": {"type": "string"}, "maxItems": 200},
    "has_recording": {"type": "boolean"},
    "min_mos": MOS,
    "max_mos": MOS,
}

LIST_PARAMETERS = [
    *WINDOW,
    query_array_param("direction", "inbound, outbound, local.", ["inbound", "outbound", "local"]),
    query_array_param("disposition", "answered or cancelled.", ["answered", "cancelled"]),
    query_array_param("agents", "Agents' emails."),
    query_array_param("user_uuids", "Agents' third-party user ids or codes, or extensions."),
    query_array_param("sip_user", "Agent extension."),
    query_array_param("sip_numbers", "Hotline numbers, in any written form (0…, 84…, +84…)."),
    query_array_param("queue_destination", "Queue (ring group) numbers."),
    query_param(
        "is_auto_call", {"type": "boolean"}, "true: only auto-dialer calls; false: only the others."
    ),
    query_param(
        "keyword",
        {"type": "string", "maxLength": 100},
        "Case- and diacritics-insensitive: numbers (any form), customer and agent names, notes, "
        "tags, or a transaction-id prefix.",
    ),
    *QUALITY,
    *PAGING,
]

REPORT_PARAMETERS = [
    query_param(
        "from_date", EPOCH_MS, "Window start, epoch ms; with to_date absent too: the last 30 days."
    ),
    query_param("to_date", EPOCH_MS, "Window end, epoch ms."),
    query_array_param("numbers", "Hotline numbers."),
    query_array_param("sip_user", "Agent extension."),
    query_array_param("agents", "Agents' emails."),
    *QUALITY,
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
                    **QUALITY_PROPERTIES,
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


def answer(status: int, model: type[BaseModel], description: str) -> Responses:
    """A success answered beside the route's own status (e.g. 200 beside 201)."""
    return {status: {"model": model, "description": description}}


ERRORS: Responses = {
    "400": {"description": "Bad input: `message` is the error code (from_date_is_required, …)."},
    "401": {"description": "Missing or invalid credentials."},
}
NOT_FOUND: Responses = {
    "404": {"description": "transaction_not_found (also for another tenant's call)."}
}


# ---- declarations of routes in other packages -------------------------------------------

FREESWITCH_BODY = {
    "required": True,
    "description": "A mod_json_cdr leg: the JSON document, or a form whose `cdr` field holds "
    "it (URL-encoded or base64, as `encode=true|base64`).",
    "content": {
        "application/json": {"schema": {"type": "object"}},
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["cdr"],
                "properties": {"cdr": {"type": "string"}},
            }
        },
    },
}
FREESWITCH_ERRORS: Responses = {
    400: {
        "description": "The leg cannot be read: `cdr_is_required`, `invalid_json`, "
        "`cdr_invalid_base64`, `cdr_must_be_an_object`, `cdr_variables_missing`, "
        "`cdr_uuid_missing`, `cdr_start_missing`; or stored it cannot be: `store_failed` "
        "(each kept in the rejections log)."
    },
    401: {
        "description": "`api_key_is_required` or `api_key_invalid` (HTTP Basic: any user "
        "name, the API key as password; or `x-api-key`).",
        "headers": {
            "WWW-Authenticate": {
                "required": True,
                "schema": {"type": "string"},
                "description": '`Basic realm="callhistory"`',
            }
        },
    },
    413: {"description": "`payload_too_large`: over CALLHISTORY_MAX_CDR_BYTES."},
}

SYNC_PARAMETERS = [
    query_param(
        "from_date",
        EPOCH_MS,
        "Changes since this moment, epoch ms; required when no cursor is given.",
    ),
    query_param(
        "cursor",
        {"type": "string"},
        "The `cursor` of the previous answer: read on from there.",
    ),
    query_param(
        "size",
        {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 500},
        "Calls per answer; above 500 it is clamped to 500.",
    ),
]

WEBHOOK_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["webhook"],
                "properties": {
                    "webhook": {
                        "type": "object",
                        "required": ["url"],
                        "properties": {
                            "type": {"type": "string", "enum": ["call"], "default": "call"},
                            "url": {"type": "string", "format": "uri", "maxLength": 2000},
                            "events": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "string",
                                    "enum": ["ringing", "answered", "hangup", "updated", "deleted"],
                                },
                            },
                        },
                    }
                },
            }
        }
    },
}
HOOK_TYPE = [query_param("hook_type", {"type": "string", "default": "call"}, "The webhook's type.")]
DELIVERIES_PARAMETERS = [
    query_param(
        "status",
        {"type": "string", "enum": ["pending", "delivered", "parked"]},
        "Only deliveries in this state.",
    ),
    query_param(
        "size",
        {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 50},
        "How many, newest first; at most 200.",
    ),
]
WEBHOOK_NOT_FOUND: Responses = {404: {"description": "`webhook_not_found`: none of this type."}}
DELIVERY_NOT_FOUND: Responses = {
    404: {"description": "`delivery_not_found` (also for another tenant's delivery)."}
}

EXPORT_BODY = {
    "required": True,
    "description": "The list's filters (arrays as JSON arrays, `tags` as tag ids, no 30-day "
    "limit on the window), and the file's format, time zone and date format.",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["from_date", "to_date"],
                "properties": {
                    "from_date": EPOCH_MS,
                    "to_date": EPOCH_MS,
                    **{
                        name: {"type": "array", "items": {"type": "string"}, "maxItems": 200}
                        for name in (
                            "direction",
                            "disposition",
                            "agents",
                            "user_uuids",
                            "sip_user",
                            "sip_numbers",
                            "queue_destination",
                            "tags",
                        )
                    },
                    "is_auto_call": {"type": ["boolean", "null"]},
                    "keyword": {"type": "string", "maxLength": 100},
                    **QUALITY_PROPERTIES,
                    "format": {"type": "string", "enum": ["csv", "csv.gz", "xlsx"]},
                    "time_zone": {"type": "string", "description": "IANA, e.g. Asia/Ho_Chi_Minh."},
                    "date_format": {"type": "string", "maxLength": 64},
                },
            }
        }
    },
}
EXPORT_NOT_FOUND: Responses = {
    404: {"description": "`export_not_found` (also for another tenant's export)."}
}
DOWNLOAD_PARAMETERS = [
    query_param("tenant", {"type": "string"}, "From the signed link.", required=True),
    query_param(
        "expires", {"type": "integer"}, "From the signed link: epoch seconds.", required=True
    ),
    query_param("sig", {"type": "string"}, "From the signed link.", required=True),
]
DOWNLOAD_ANSWERS: Responses = {
    200: {
        "description": "The file.",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in (
                "text/csv; charset=utf-8",
                "application/gzip",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        },
    },
    403: {"description": "`download_link_invalid`: not a link this server signed."},
    404: {"description": "`export_not_found`: no such export, or it is not done."},
    410: {"description": "`download_link_expired`: ask the export for a fresh link."},
}
