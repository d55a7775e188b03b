"""The change feed's page, as the OpenAPI document declares it.

Descriptions of the dicts the routes answer, never used to build them: see
callhistory.answers for why and how they are checked.
"""

from __future__ import annotations

from callhistory.answers import Shape
from callhistory.calls.answers import CallListItem


class SyncItem(CallListItem):
    tenant_id: str
    is_deleted: bool


class SyncPage(Shape):
    items: list[SyncItem]
    cursor: str
    has_more: bool
