"""The directories' items and bulk reports, as the OpenAPI document declares them.

Descriptions of the dicts the routes answer, never used to build them: see
callhistory.answers for why and how they are checked.
"""

from __future__ import annotations

from pydantic import Field

from callhistory.answers import ItemStatus, Problem, Shape


class BulkResult(Shape):
    index: int
    status: ItemStatus
    id: str | None
    errors: list[Problem]


class BulkReport(Shape):
    results: list[BulkResult]
    stored: int
    updated: int
    unchanged: int
    rejected: int


class Agent(Shape):
    id: str
    email: str | None
    full_name: str
    full_name_unsigned: str
    sip_user: str | None
    user_uuid: str | None
    active: bool


class Extension(Shape):
    sip_user: str
    full_name: str
    agent_id: str
    email: str | None
    public_number: None
    domain: None


class Hotline(Shape):
    number: str
    name: str
    provider: str | None


class Queue(Shape):
    group_number: str
    name: str


class DirectoryCustomer(Shape):
    id: str
    code: str | None
    full_name: str
    full_name_unsigned: str
    phones: list[str] = Field(description="National form, the main number first.")


class Price(Shape):
    carrier: str
    price_per_minute: int
    first_block_sec: int
    next_block_sec: int
