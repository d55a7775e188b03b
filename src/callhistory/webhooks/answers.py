"""Hooks and deliveries, as the OpenAPI document declares them.

Descriptions of the dicts the routes answer, never used to build them: see
callhistory.answers for why and how they are checked.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from callhistory.answers import Shape


class Webhook(Shape):
    id: str
    type: str
    url: str
    events: list[str]
    status: str
    created_at: int
    failing_since: int | None


class RegisteredWebhook(Webhook):
    secret: str = Field(description="The signing secret, shown here once.")


class WebhookDestroyed(Shape):
    hook_type: str
    deleted: Literal[True]


class Delivery(Shape):
    id: str
    hook_id: str
    event: str
    transaction_id: str
    status: str
    attempts: int
    response_code: int | None
    error: str | None
    created_at: int
    last_attempt_at: int | None
    next_attempt_at: int | None


class Redelivery(Shape):
    id: str
    status: Literal["pending"]
