"""What the OpenAPI document says about the statistics routes' parameters."""

from __future__ import annotations

from typing import Any

from callhistory.calls.openapi import EPOCH_MS, ERRORS, query_array_param, query_param

__all__ = ["AGENT_PARAMETERS", "ERRORS", "QUEUE_PARAMETERS"]

_COMMON: list[dict[str, Any]] = [
    query_param("from_date", EPOCH_MS, "Window start, epoch ms; with to_date absent too: 30 days."),
    query_param("to_date", EPOCH_MS, "Window end, epoch ms; at most 92 days after from_date."),
    query_param(
        "interval",
        {"type": "string", "enum": ["hour", "day", "week"]},
        "Buckets of the tenant's local hours, days or (Monday) weeks; absent: totals only.",
    ),
]
AGENT_PARAMETERS = [*_COMMON, query_array_param("agents", "Agents' emails (default: every agent).")]
QUEUE_PARAMETERS = [
    *_COMMON,
    query_array_param("queue_destination", "Queues (default: every queue)."),
]
