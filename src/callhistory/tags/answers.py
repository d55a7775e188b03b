"""The tag catalogue's items, as the OpenAPI document declares them.

Descriptions of the dicts the routes answer, never used to build them: see
callhistory.answers for why and how they are checked.
"""

from __future__ import annotations

from pydantic import Field

from callhistory.answers import Shape


class Tag(Shape):
    id: str
    name: str
    count: int = Field(description="How many calls carry it.")
